"""The proposal form's risk fields (what it synthesises, user uploads,
markets) and what the proposal page shows of risk and consent: kept apart
from api.routes.proposal_pages, which only calls in here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import FormData

from countersign.domain.access import Role
from countersign.domain.policy import Policy
from countersign.storage import grants

SYNTHESES = {"voice": "A voice", "likeness": "A likeness (face, image, persona)"}


def read(form: FormData) -> dict[str, Any]:
    """The risk fields as typed, to show again if refused."""
    return {"synthesises": [s for s in form.getlist("synthesises") if s in SYNTHESES],
            "user_uploads": form.get("user_uploads") == "yes",
            "markets": form.get("markets") if isinstance(form.get("markets"), str) else ""}


def values(content: dict) -> dict[str, Any]:
    return {"synthesises": list(content.get("synthesises") or []),
            "user_uploads": bool(content.get("user_uploads")),
            "markets": ", ".join(content.get("markets") or [])}


def markets(text: str) -> list[str]:
    """"gb, FR" -> ["GB", "FR"]: the model checks each is a two-letter code."""
    return [m.strip().upper() for m in text.replace(";", ",").split(",") if m.strip()]


def flat(content: dict) -> dict[str, str]:
    """The risk fields as text, for the version diff."""
    return {"synthesises": ", ".join(content.get("synthesises") or []),
            "user_uploads": "yes" if content.get("user_uploads") else "no",
            "markets": ", ".join(content.get("markets") or [])}


def detail(policy: Policy, user, proposal, public, evidence_files: dict[int, list]) -> dict[str, Any]:
    """What the proposal page shows of the tier, the route and the grants, and
    which of the grant and obligation forms this user gets (`evidence_files`: the
    obligations' files this user may see)."""
    why = {rule.name: rule.why for rule in policy.risk_rules}
    rules = (proposal.route or {}).get("rules", [])
    return {
        "tier": public.tier,
        "why": [(name, why.get(name, "")) for name in rules],
        "stages": (proposal.route or {}).get("stages", []),
        "grants": public.grants,
        "obligations": public.obligations,
        "evidence_files": evidence_files,
        "own_party": user.party if user.role == Role.REP and user.party in public.grants else None,
        "is_owner": user.role == Role.LEAD and proposal.owner_id == user.id,
        "party": user.party if user.role == Role.REP else None,
    }


# A rep's dashboard lists its label's grants that expire within this long.
EXPIRING_WITHIN = timedelta(days=45)


def dashboard(session, user) -> dict[str, Any] | None:
    """A rep's label: grants expiring soon, evidence waiting on its review.
    A lead: obligations waiting on their evidence."""
    if user.role == Role.LEAD:
        return {"expiring": [], "evidence": [], "to_submit": grants.evidence_to_submit(session, user.id)}
    if user.role != Role.REP or not user.party:
        return None
    now = datetime.now(UTC)
    return {"to_submit": [], "expiring": grants.expiring(session, user.party, now, EXPIRING_WITHIN),
            "evidence": grants.evidence_to_review(session, user.party)}
