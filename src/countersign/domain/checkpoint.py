"""Checkpoints of the audit log: a tree size, its root hash and a time, signed
with Ed25519 by Countersign and co-signed by the organisations that witness it.

What is signed is a short text (`Checkpoint.body`), so that anyone can
re-create it from the JSON a checkpoint is served and kept as:

    countersign-checkpoint/v1
    <size>
    <root, hex>
    <time, ISO 8601 UTC>

A witness signs the same text after a line of its own
(`countersign-cosignature/v1`), so that a cosignature can never pass for
the log's own signature or the other way round.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CHECKPOINT_LINE = "countersign-checkpoint/v1"
COSIGNATURE_LINE = "countersign-cosignature/v1"


class CheckpointError(ValueError):
    """A checkpoint, key or signature that cannot be read; the message says what is wrong."""


@dataclass(frozen=True)
class Checkpoint:
    size: int
    root: str  # hex SHA-256
    time: datetime

    def body(self) -> bytes:
        return f"{CHECKPOINT_LINE}\n{self.size}\n{self.root}\n{stamp(self.time)}\n".encode()

    def cosigned_body(self) -> bytes:
        return f"{COSIGNATURE_LINE}\n".encode() + self.body()


@dataclass(frozen=True)
class Cosignature:
    party: str  # the organisation: a party's key, or "platform"
    key_id: str
    signature: str  # base64
    time: datetime  # when the platform received it
    key_revoked_at: datetime | None = None  # its key was revoked later (it was made before: it counts)

    def as_json(self) -> dict[str, Any]:
        return {"party": self.party, "key_id": self.key_id, "signature": self.signature, "time": stamp(self.time),
                "key_revoked_at": stamp(self.key_revoked_at) if self.key_revoked_at else None}


REASON_MAX = 500


def revocation_reason(text: str) -> str:
    """Why a witness key is revoked: one line of 1 to 500 characters, kept with the revocation."""
    reason = (text or "").strip()
    if not reason:
        raise CheckpointError("say why the key is revoked (for example: the private key was lost)")
    if len(reason) > REASON_MAX or any(c in reason for c in "\r\n\x00"):
        raise CheckpointError(f"the reason is one line of at most {REASON_MAX} characters")
    return reason


def cosignature_counts(cosigned_at: datetime, key_revoked_at: datetime | None) -> bool:
    """A cosignature counts unless its key was revoked before it was made."""
    return key_revoked_at is None or cosigned_at < key_revoked_at


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signature: str  # base64 Ed25519 over checkpoint.body()
    key_id: str
    cosignatures: list[Cosignature] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The shape API.md gives: {size, root, time, signature, key_id, cosignatures}."""
        c = self.checkpoint
        return {"size": c.size, "root": c.root, "time": stamp(c.time), "signature": self.signature,
                "key_id": self.key_id, "cosignatures": [s.as_json() for s in self.cosignatures]}

    @classmethod
    def from_json(cls, data: Any) -> SignedCheckpoint:
        if not isinstance(data, dict):
            raise CheckpointError("a checkpoint is a JSON object with size, root, time, signature and key_id")
        missing = [k for k in ("size", "root", "time", "signature", "key_id") if k not in data]
        if missing:
            raise CheckpointError(f"the checkpoint has no {', '.join(missing)}")
        size, root = data["size"], data["root"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise CheckpointError("the checkpoint's size must be a positive whole number")
        if not isinstance(root, str) or len(root) != 64 or not _is_hex(root):
            raise CheckpointError("the checkpoint's root must be 64 hex digits")
        cosignatures = []
        for item in data.get("cosignatures") or []:
            try:
                revoked = item.get("key_revoked_at")
                cosignatures.append(Cosignature(str(item["party"]), str(item["key_id"]), str(item["signature"]),
                                                parse_time(item["time"]), parse_time(revoked) if revoked else None))
            except (KeyError, TypeError, AttributeError) as exc:
                raise CheckpointError(f"a cosignature lacks {exc}") from None
        return cls(Checkpoint(size, root.lower(), parse_time(data["time"])), str(data["signature"]),
                   str(data["key_id"]), cosignatures)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise CheckpointError(f"{value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise CheckpointError(f"{value!r} has no time zone")
    return moment.astimezone(UTC)


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


# -- keys ------------------------------------------------------------------------


def new_private_key_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def private_key_pem(value: str) -> str:
    """A key given as PEM, or as the base64 of its 32 raw bytes (one line, for a .env file)."""
    value = value.strip()
    if value.startswith("-----BEGIN"):
        return value
    try:
        raw = base64.b64decode(value, validate=True)
        key = Ed25519PrivateKey.from_private_bytes(raw)
    except (binascii.Error, ValueError):
        raise CheckpointError("the checkpoint key must be PEM or the base64 of 32 bytes") from None
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def new_private_key_base64() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                     serialization.NoEncryption())
    return base64.b64encode(raw).decode()


def load_private_key(pem: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CheckpointError(f"not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError("the checkpoint key must be an Ed25519 key")
    return key


def load_public_key(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CheckpointError("not a PEM public key (-----BEGIN PUBLIC KEY----- ...)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError("the public key must be an Ed25519 key")
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """The first 8 bytes of SHA-256 over the raw public key, in hex."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# -- signing ----------------------------------------------------------------------


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode()


def signature_ok(key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


class Signer:
    """Countersign's checkpoint key."""

    def __init__(self, private_key_pem: str) -> None:
        self._key = load_private_key(private_key_pem)
        self.public_key = self._key.public_key()
        self.key_id = key_id(self.public_key)

    def sign(self, checkpoint: Checkpoint) -> SignedCheckpoint:
        return SignedCheckpoint(checkpoint, sign(self._key, checkpoint.body()), self.key_id)

    def cosign(self, checkpoint: Checkpoint) -> str:
        """A witness's signature over someone else's checkpoint (its cosigned body)."""
        return sign(self._key, checkpoint.cosigned_body())

    def public_pem(self) -> str:
        return public_pem(self.public_key)


def check_signature(signed: SignedCheckpoint, key: Ed25519PublicKey) -> str | None:
    """None when the checkpoint is signed by `key`; otherwise what is wrong."""
    if signed.key_id != key_id(key):
        return f"the checkpoint names key {signed.key_id}, not the log's key {key_id(key)}"
    if not signature_ok(key, signed.checkpoint.body(), signed.signature):
        return "its signature does not verify with the log's public key: the checkpoint is forged or altered"
    return None
