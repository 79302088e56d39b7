"""The certificate of completion's content as a PDF (fpdf2), before it is signed (signing.py).

Plain facts in, bytes out: what the certificate page shows, each signature
with its manifestation, every version's file hashes where a version has
files, the audit chain's final hash and, when given, the latest checkpoint
of the whole audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF

from countersign.domain.signature import REAUTHENTICATED, Signature

# A Unicode font where the system has one (the image installs fonts-dejavu-core); else the PDF core
# font, which has only Latin-1: other characters print as "?".
UNICODE_FONTS = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                 Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))


@dataclass(frozen=True)
class VersionFacts:
    number: int
    title: str
    submitted_by: str
    submitted_at: datetime
    files: list[dict[str, Any]] = field(default_factory=list)  # each {"name", "sha256", ...}, where a version has files


@dataclass(frozen=True)
class SignedDecision:
    signature: Signature
    actor: str
    comment: str | None
    reauthenticated: str | None


@dataclass(frozen=True)
class CertificateFacts:
    proposal_id: int
    title: str
    outcome: str
    concluded_at: datetime | None
    lead: str
    capability: str
    parties: list[str]
    workflow_id: str
    versions: list[VersionFacts]
    decisions: list[SignedDecision]
    entries: int
    final_hash: str
    chain: str  # "intact when issued", or what broke
    issued_at: datetime
    issued_to: str
    # The latest signed checkpoint of the whole audit log ({"size", "root", "time", "key_id", ...}), when known.
    checkpoint: dict[str, Any] | None = None


def _utc(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "-"


class _Document(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)
        if all(path.exists() for path in UNICODE_FONTS):
            self.add_font("Body", "", str(UNICODE_FONTS[0]))
            self.add_font("Body", "B", str(UNICODE_FONTS[1]))
            self.family, self.unicode = "Body", True
        else:
            self.family, self.unicode = "Helvetica", False

    def text_of(self, text: str) -> str:
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def para(self, text: str, size: float = 10, bold: bool = False, mono: bool = False, gap: float = 1) -> None:
        self.set_font("Courier" if mono else self.family, "B" if bold else "", size)
        self.multi_cell(0, size * 0.5, self.text_of(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(gap)

    def heading(self, text: str) -> None:
        self.ln(3)
        self.para(text, size=13, bold=True, gap=2)

    def fact(self, label: str, value: str, mono: bool = False) -> None:
        self.para(f"{label}: {value}", mono=mono, gap=0.5)


def render(facts: CertificateFacts) -> bytes:
    pdf = _Document()
    pdf.set_title(f"Certificate of completion, proposal {facts.proposal_id}")
    pdf.set_creator("Countersign")
    pdf.add_page()
    pdf.para("Countersign", size=9)
    pdf.para("Certificate of completion", size=20, bold=True, gap=2)
    pdf.para(f"Proposal {facts.proposal_id}: {facts.title}", size=12, bold=True, gap=3)
    pdf.fact("Outcome", facts.outcome)
    pdf.fact("Concluded", _utc(facts.concluded_at))
    pdf.fact("Product lead", facts.lead)
    pdf.fact("Capability", facts.capability)
    pdf.fact("Parties", ", ".join(facts.parties))
    pdf.fact("Workflow", facts.workflow_id)

    pdf.heading("Versions")
    for version in facts.versions:
        pdf.para(f"Version {version.number}: {version.title}", bold=True, gap=0.5)
        pdf.para(f"Submitted by {version.submitted_by} on {_utc(version.submitted_at)}", gap=0.5)
        for item in version.files:
            pdf.para(f"{item.get('name', 'file')}  SHA-256 {item.get('sha256', '')}", size=8, mono=True, gap=0.5)
        pdf.ln(1)

    pdf.heading("Signatures")
    if not facts.decisions:
        pdf.para("No label decided before the proposal concluded.")
    for decided in facts.decisions:
        s = decided.signature
        pdf.para(s.meaning, bold=True, gap=0.5)
        pdf.para(f"Signed by {s.name} ({decided.actor}), {s.role}, {s.party}", gap=0.5)
        pdf.para(f"At {s.printed_at}", gap=0.5)
        if decided.reauthenticated:
            pdf.para(f"Re-authenticated: {REAUTHENTICATED.get(decided.reauthenticated, decided.reauthenticated)}",
                     gap=0.5)
        if decided.comment:
            pdf.para(f"Comment: {decided.comment}", gap=0.5)
        pdf.ln(2)

    pdf.heading("Integrity")
    pdf.fact("Audit entries", f"{facts.entries}, SHA-256 hash chained from GENESIS")
    pdf.fact("Final hash", facts.final_hash, mono=True)
    pdf.fact("Chain", facts.chain)
    if facts.checkpoint:
        cp = facts.checkpoint
        pdf.para("Latest checkpoint of the whole audit log", bold=True, gap=0.5)
        pdf.fact("Tree size", str(cp.get("size", "")))
        pdf.fact("Root hash", str(cp.get("root", "")), mono=True)
        pdf.fact("Time", str(cp.get("time", "")))
        if cp.get("key_id"):
            pdf.fact("Signed by key", str(cp["key_id"]), mono=True)
        witnesses = sorted({str(c.get("party", "")) for c in cp.get("cosignatures") or []} - {""})
        if witnesses:
            pdf.fact("Witnessed by", ", ".join(witnesses))
    pdf.ln(2)
    pdf.para("This PDF carries a PAdES signature by Countersign. A PDF reader or validator shows whether the "
             "document changed since it was signed. Anyone holding an export of this proposal's audit trail can "
             "check the final hash: countersign audit verify --file export.jsonl.", size=8)
    pdf.para(f"Issued {_utc(facts.issued_at)} to {facts.issued_to}.", size=8)
    return bytes(pdf.output())
