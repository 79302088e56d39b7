"""PAdES signatures on certificate PDFs (pyHanko), and the embedded default's key.

Production names a key and certificate issued by a CA the organisations
trust (settings `certificate_key` and `certificate_cert`). Without them, in
development and the embedded mode, Countersign makes an ECDSA P-256 key and a
self-signed certificate in the data dir on first use: a validator then
accepts the PDF's signature once that certificate is trusted (docs/signatures.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

KEY_FILE = "certificate_signing_key.pem"
CERT_FILE = "certificate_signing_cert.pem"


@dataclass(frozen=True)
class SigningKey:
    key_path: Path
    cert_path: Path


def embedded_key(data_dir: Path, common_name: str = "Countersign (self-signed)") -> SigningKey:
    """The data dir's key and self-signed certificate, made on first use."""
    key_path, cert_path = data_dir / KEY_FILE, data_dir / CERT_FILE
    if not (key_path.exists() and cert_path.exists()):
        data_dir.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        key_path.touch(mode=0o600)  # private before the key is in it
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        cert_path.write_bytes(self_signed(key, common_name).public_bytes(serialization.Encoding.PEM))
    return SigningKey(key_path, cert_path)


def self_signed(key: ec.EllipticCurvePrivateKey, common_name: str, years: int = 10) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Countersign")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def sign_pdf(pdf: bytes, key: SigningKey, reason: str, location: str = "Countersign") -> bytes:
    """`pdf` with a PAdES baseline signature (B-B) over all of it, in an invisible field."""
    signer = signers.SimpleSigner.load(str(key.key_path), str(key.cert_path))
    if signer is None:
        raise ValueError(f"cannot load the certificate signing key {key.key_path} and certificate {key.cert_path}")
    meta = signers.PdfSignatureMetadata(field_name="Countersign", reason=reason, location=location,
                                        subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256")
    out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=signer)
    return out.getvalue()
