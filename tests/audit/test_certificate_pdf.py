"""The certificate of completion as a signed PDF (PAdES): pyHanko's own
validator accepts it with the embedded certificate trusted as the root, and
one changed byte breaks it; its content carries every signature's meaning."""

from __future__ import annotations

import hashlib
from io import BytesIO

import pytest
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlmodel import Session

from api.routes.certificate_pdf import certificate_facts
from countersign.certificate.pdf import render
from countersign.certificate.signing import CERT_FILE, embedded_key, sign_pdf
from countersign.settings import Settings
from countersign.storage import audit
from countersign.storage.tables import Proposal, User
from tests.audit.conftest import decide, submit


def _signature_and_trust(pdf: bytes, cert_path):
    trust = ValidationContext(trust_roots=[load_cert_from_pemder(str(cert_path))])
    return PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures[0], trust


def validate(pdf: bytes, cert_path):
    return validate_pdf_signature(*_signature_and_trust(pdf, cert_path))


async def validate_async(pdf: bytes, cert_path):
    return await async_validate_pdf_signature(*_signature_and_trust(pdf, cert_path))


async def test_the_signed_certificate_validates_and_a_changed_byte_breaks_it(app, api, browser, engine, settings,
                                                                          users):
    proposal = await submit(api, parties=["sony", "merlin"])
    licence = b"%PDF-1.4 the stem licence"
    attached = await api("lead").post(f"/api/v1/proposals/{proposal['id']}/files",
                                      files={"file": ("licence.pdf", licence, "application/pdf")})
    assert attached.status_code == 201, attached.text
    for party in ("sony", "merlin"):
        await decide(api, party, proposal["id"], comment=f"{party} signs off")
    compliance = await browser("compliance")
    response = await compliance.get(f"/proposals/{proposal['id']}/certificate.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content

    status = await validate_async(pdf, settings.data_dir / CERT_FILE)  # made in the data dir on first use
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"

    inside = pdf.index(b"stream\n") + 20  # in the first page's content, well inside the signed bytes
    assert inside < PdfFileReader(BytesIO(pdf)).embedded_signatures[0].byte_range[1]
    changed = bytearray(pdf)
    changed[inside] ^= 0x01  # one bit
    broken = await validate_async(bytes(changed), settings.data_dir / CERT_FILE)
    assert not broken.intact and not broken.bottom_line

    # The signatures and integrity facts the PDF is made of.
    with Session(engine) as session:
        row = session.get(Proposal, proposal["id"])
        facts = certificate_facts(session, app.state.policy, session.get(User, users["compliance"].id), row,
                                  checkpoint={"size": 7, "root": "ab" * 32, "time": "2026-12-04T10:00:00Z"})
        head = audit.chain(session, proposal["id"])[-1].hash
    meanings = [d.signature.meaning for d in facts.decisions]
    assert meanings == [f"Approved, for {name}, {proposal['stage']}, version 1" for name in ("Sony Music Group", "Merlin")]
    assert facts.final_hash == head and facts.checkpoint["size"] == 7
    assert [d.reauthenticated for d in facts.decisions] == ["token", "token"]
    assert facts.versions[0].files[0]["sha256"] == hashlib.sha256(licence).hexdigest()  # the version's file

    # The page links to it, and shows each signature too.
    page = await compliance.get(f"/compliance/proposals/{proposal['id']}/certificate")
    assert f'href="/proposals/{proposal["id"]}/certificate.pdf"' in page.text
    assert all(meaning.replace("&", "&amp;") in page.text for meaning in meanings)


async def test_no_pdf_before_the_proposal_concludes(api, browser):
    proposal = await submit(api, parties=["sony"])
    response = await (await browser("compliance")).get(f"/proposals/{proposal['id']}/certificate.pdf")
    assert response.status_code == 409


def test_a_configured_key_signs_and_production_requires_one(tmp_path):
    key = embedded_key(tmp_path / "issued", common_name="Countersign at a CA")  # stands in for a CA-issued pair
    configured = Settings(_env_file=None, data_dir=tmp_path / "data", certificate_key=key.key_path,
                          certificate_cert=key.cert_path)
    assert configured.certificate_signing_key == key
    signed = sign_pdf(render_minimal(), configured.certificate_signing_key, reason="test")
    assert validate(signed, key.cert_path).bottom_line
    assert not (tmp_path / "data").exists()  # nothing generated when a key is configured
    production = Settings(_env_file=None, environment="production", secret_key="x" * 40, data_dir=tmp_path,
                          password_memory_cost=19 * 1024, password_time_cost=2)
    with pytest.raises(ValueError, match="COUNTERSIGN_CERTIFICATE_KEY"):
        production.certificate_signing_key
    with pytest.raises(ValueError, match="both"):
        Settings(_env_file=None, certificate_key=key.key_path)


def render_minimal() -> bytes:
    from datetime import UTC, datetime

    from countersign.certificate.pdf import CertificateFacts
    now = datetime.now(UTC)
    return render(CertificateFacts(1, "Title", "Approved", now, "Lead", "stems", ["Sony Music Group"], "proposal-1",
                                   [], [], 0, "0" * 64, "intact", now, "compliance@example.com"))


async def test_production_without_a_signing_key_says_what_to_set(app, api, browser, settings, monkeypatch):
    proposal = await submit(api, parties=["sony"])
    await decide(api, "sony", proposal["id"])
    unconfigured = settings.model_copy(update={"environment": "production"})
    monkeypatch.setattr(app.state, "settings", unconfigured)  # the app's own state, as another deployment has it
    response = await (await browser("compliance")).get(f"/proposals/{proposal['id']}/certificate.pdf")
    assert response.status_code == 503 and "COUNTERSIGN_CERTIFICATE_KEY" in response.text
