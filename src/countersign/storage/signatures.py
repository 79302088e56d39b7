"""Decisions' signatures as stored with them (countersign.domain.signature)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from countersign.domain.signature import Signature, from_stored
from countersign.storage.tables import Decision


def signatures_of_current(session: Session, proposal_ids: list[int]) -> dict[tuple[int, str, str, int], Signature]:
    """Each decision's signature by (proposal, party, stage, version): what a party's current row names."""
    rows = session.execute(
        select(Decision.proposal_id, Decision.party, Decision.stage, Decision.version, Decision.signature)
        .where(col(Decision.proposal_id).in_(proposal_ids), col(Decision.signature).is_not(None))
    )
    return {(r.proposal_id, r.party, r.stage, r.version): from_stored(r.signature) for r in rows}


def signatures_by_step(session: Session, proposal_id: int) -> dict[int, Signature]:
    """Each decision's signature by the workflow step that stored it, which also wrote its "decided" audit entry."""
    rows = session.execute(
        select(Decision.step, Decision.signature)
        .where(Decision.proposal_id == proposal_id, col(Decision.signature).is_not(None))
    )
    return {r.step: from_stored(r.signature) for r in rows if r.step is not None}


def decisions_signed(session: Session, proposal_id: int) -> list[tuple[Decision, Signature | None]]:
    """Every decision of the proposal in the order given, with its signature."""
    rows = session.exec(
        select(Decision).where(Decision.proposal_id == proposal_id).order_by(col(Decision.decided_at), col(Decision.id))
    ).all()
    return [(row, from_stored(row.signature)) for row in rows]


def export_signatures(session: Session, proposal_ids: list[int]) -> dict[tuple[int, int], dict[str, str]]:
    """The API shape of each decision's signature, by (proposal, step), for an export of these proposals."""
    found: dict[tuple[int, int], dict[str, str]] = {}
    for start in range(0, len(proposal_ids), 500):
        rows = session.execute(
            select(Decision.proposal_id, Decision.step, Decision.signature)
            .where(col(Decision.proposal_id).in_(proposal_ids[start:start + 500]),
                   col(Decision.signature).is_not(None), col(Decision.step).is_not(None))
        )
        found |= {(r.proposal_id, r.step): from_stored(r.signature).as_dict() for r in rows}
    return found
