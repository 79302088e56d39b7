"""A decision as a signature: who signed, in which role and for whom, when
(with its zone) and what the signature means (21 CFR Part 11 §11.50).

Computed once, when the decision is stored (workflows.activities), and kept
with it: a later change of a person's name or of the policy's party names
never changes a signature already given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

MEANINGS = {
    "approve": "Approved",
    "approve_with_conditions": "Approved with conditions",
    "request_changes": "Changes requested",
    "reject": "Rejected",
}
ROLES = {"rep": "Label representative", "lead": "Product lead", "compliance": "Compliance", "admin": "Admin"}
# How the signer proved, at the moment of deciding, that they were who their session or token said.
REAUTHENTICATED = {
    "password": "password entered again",
    "provider": "signed in again at their organisation's provider",
    "token": "API token with the decide scope",
    "token+password": "API token with the decide scope and password",
}


@dataclass(frozen=True)
class Signature:
    name: str  # the signer's printed name
    role: str
    party: str  # the party's name, as the policy named it then
    at: str  # ISO 8601 in the party's time zone, with its offset
    zone: str  # the IANA zone `at` is given in
    meaning: str  # e.g. "Approved with conditions, for Sony Music Group, Rights & licensing review, version 2"

    def as_dict(self) -> dict[str, str]:
        """The API's shape (API.md): `at` carries its zone as the offset."""
        return {"name": self.name, "role": self.role, "party": self.party, "at": self.at, "meaning": self.meaning}

    def stored(self) -> dict[str, str]:
        return asdict(self)

    @property
    def printed_at(self) -> str:
        """E.g. "2026-11-25 05:00 EST (America/New_York)"."""
        moment = datetime.fromisoformat(self.at).astimezone(ZoneInfo(self.zone))
        return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()} ({self.zone})"


def manifest(*, verdict: str, party_name: str, zone: str, stage: str, version: int, signer_name: str,
             signer_role: str, decided_at: datetime, on_behalf_of: str | None = None) -> Signature:
    role = ROLES.get(signer_role, signer_role)
    if on_behalf_of:
        role = f"{role}, as delegate of {on_behalf_of}"
    meaning = f"{MEANINGS.get(verdict, verdict)}, for {party_name}, {stage}, version {version}"
    return Signature(name=signer_name, role=role, party=party_name,
                     at=decided_at.astimezone(ZoneInfo(zone)).isoformat(), zone=zone, meaning=meaning)


def from_stored(stored: dict | None) -> Signature | None:
    return Signature(**stored) if stored else None


# The signature's fields as exports carry them (`as_dict`): a JSON Lines record's `signature`,
# and the CSV export's columns `signature_<field>`.
EXPORTED = ("name", "role", "party", "at", "meaning")


def export_problem(signature: dict | None, kind: str, at: str, detail: dict) -> str | None:
    """What is wrong with an exported signature beside its audit entry (`kind`, `at`, `detail` as
    hashed), or None. The hash does not cover the signature, so this checks that it says what the
    hashed entry says: the verdict, stage and version in its meaning, the same instant, and a
    delegate's role naming the rep the entry names. The printed name and the party's name are
    not in the entry and cannot be checked against it."""
    if not signature:
        return None  # decisions stored before signatures existed have none
    if kind != "decided":
        return f"a {kind} entry carries a signature: only decisions do"
    missing = [name for name in EXPORTED if not signature.get(name)]
    if missing:
        return f"its signature lacks {', '.join(missing)}"
    verdict, stage, version = detail.get("decision"), detail.get("stage"), detail.get("version")
    meaning = f"{MEANINGS.get(verdict, verdict)}, for {signature['party']}, {stage}, version {version}"
    if signature["meaning"] != meaning:
        return f"its signature's meaning {signature['meaning']!r} is not the decision hashed ({meaning!r})"
    try:
        same_time = datetime.fromisoformat(signature["at"]) == datetime.fromisoformat(at)
    except ValueError:
        same_time = False
    if not same_time:
        return f"its signature's time {signature['at']} is not the decision's ({at})"
    for_whom = detail.get("on_behalf_of")
    role = signature["role"]
    if not (role.endswith(f", as delegate of {for_whom}") if for_whom else ", as delegate of " not in role):
        return f"its signature's role {signature['role']!r} does not say whom the decision was made for"
    return None
