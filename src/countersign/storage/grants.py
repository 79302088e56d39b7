"""Reads of the grants read model: the runtime's check, a proposal's grants
and obligations, and what a party's dashboard lists."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists
from sqlmodel import Session, col, select

from countersign.domain.grants import LIVE, WAITING_ON_LEAD, CheckAnswer, GrantState, check_grant
from countersign.storage.grant_tables import GrantRecord, ObligationRecord
from countersign.storage.tables import Proposal

GRANT = GrantRecord.__table__
OBLIGATION = ObligationRecord.__table__
_WAITING_ON_LEAD = [s.value for s in WAITING_ON_LEAD]
# Built once: the check is the hot path of the product's runtime (bench/grants.py).
_GRANT = select(GRANT).where(GRANT.c.proposal_id == bindparam("proposal_id"), GRANT.c.party == bindparam("party"))
_OVERDUE = select(exists().where(
    OBLIGATION.c.proposal_id == bindparam("proposal_id"), OBLIGATION.c.party == bindparam("party"),
    OBLIGATION.c.state.in_(_WAITING_ON_LEAD), OBLIGATION.c.due_at <= bindparam("now")))


def state_now(state: str, expires_at: datetime, now: datetime) -> str:
    """A live grant past its expiry is expired, before the workflow's timer records it."""
    return GrantState.EXPIRED.value if state in LIVE and expires_at <= now else state


def grant_out(row, now: datetime) -> dict:
    return dict(party=row.party, state=state_now(row.state, row.expires_at, now), scope=row.scope,
                markets=list(row.markets), starts_at=row.starts_at, expires_at=row.expires_at,
                version=row.version, reason=row.reason)


def check(session: Session, proposal_id: int, party: str, scope: str | None, now: datetime,
          deny_when_obligation_overdue: bool) -> tuple[CheckAnswer, dict | None]:
    db = session.connection()
    row = db.execute(_GRANT, {"proposal_id": proposal_id, "party": party}).first()
    if row is None:
        return check_grant(None, None, None, scope, False, now), None
    overdue = deny_when_obligation_overdue and db.execute(
        _OVERDUE, {"proposal_id": proposal_id, "party": party, "now": now}).scalar()
    answer = check_grant(row.state, row.scope, row.expires_at, scope, bool(overdue), now)
    return answer, grant_out(row, now)


def of_proposals(session: Session, ids: list[int]) -> tuple[dict[int, list], dict[int, list]]:
    """Grants and obligations by proposal id."""
    grants: dict[int, list] = {}
    obligations: dict[int, list] = {}
    for row in session.execute(select(GRANT).where(GRANT.c.proposal_id.in_(ids)).order_by(GRANT.c.id)):
        grants.setdefault(row.proposal_id, []).append(row)
    for row in session.execute(select(OBLIGATION).where(OBLIGATION.c.proposal_id.in_(ids))
                               .order_by(OBLIGATION.c.number)):
        obligations.setdefault(row.proposal_id, []).append(row)
    return grants, obligations


def expiring(session: Session, party: str, now: datetime, within: timedelta, limit: int = 20) -> list:
    """A party's live grants that expire within `within`, soonest first, with the proposal's title."""
    return session.execute(
        select(GRANT, Proposal.title).join(Proposal, col(Proposal.id) == GRANT.c.proposal_id)
        .where(GRANT.c.party == party, GRANT.c.state.in_([s.value for s in LIVE]),
               GRANT.c.expires_at > now, GRANT.c.expires_at <= now + within)
        .order_by(GRANT.c.expires_at).limit(limit)).all()


def evidence_to_review(session: Session, party: str, limit: int = 20) -> list:
    """Obligations whose evidence waits on `party` to accept or return it."""
    return session.execute(
        select(OBLIGATION, Proposal.title).join(Proposal, col(Proposal.id) == OBLIGATION.c.proposal_id)
        .where(OBLIGATION.c.party == party, OBLIGATION.c.state == "submitted")
        .order_by(OBLIGATION.c.due_at).limit(limit)).all()


def evidence_to_submit(session: Session, owner_id: int, limit: int = 20) -> list:
    """Obligations of a lead's proposals that wait on the lead's evidence, soonest due first."""
    return session.execute(
        select(OBLIGATION, Proposal.title).join(Proposal, col(Proposal.id) == OBLIGATION.c.proposal_id)
        .where(Proposal.owner_id == owner_id, OBLIGATION.c.state.in_(_WAITING_ON_LEAD))
        .order_by(OBLIGATION.c.due_at).limit(limit)).all()
