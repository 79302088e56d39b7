"""The JSON API's answers, built from the read model (`api.schemas` shapes)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from api.schemas import ConditionOut, GrantOut, ObligationOut, PartyOut, ProposalOut, RouteOut, SignatureOut, VersionOut
from countersign.storage import grants as grant_reads
from countersign.domain.errors import NotFound
from countersign.domain.messages import Scope, Visibility, can_see
from countersign.storage.queries import workflow_id
from countersign.storage.signatures import signatures_of_current
from countersign.storage.tables import ConditionRecord, PartyReview, Proposal, ProposalVersion, User


def to_public(session: Session, proposal: Proposal, viewer: User | None = None) -> ProposalOut:
    return to_public_many(session, [proposal], viewer)[0]


def to_public_many(session: Session, proposals: list[Proposal], viewer: User | None = None) -> list[ProposalOut]:
    """The API shape of many proposals, with one query per table, not per
    proposal. Columns, not ORM objects: every list and read of a proposal
    comes through here (a command's answer too). A party's `paused_since`
    tells that it has a question open: shown to `viewer` only if they may see
    that party's questions to the lead (countersign.domain.messages)."""
    if not proposals:
        return []
    ids = [p.id for p in proposals]
    by_id = {p.id: p for p in proposals}
    owners = dict(session.execute(
        select(User.id, User.email).where(col(User.id).in_({p.owner_id for p in proposals}))).all())
    parties: dict[int, dict[str, PartyOut]] = {}
    signed = signatures_of_current(session, ids)
    for row in session.execute(
        select(PartyReview.proposal_id, PartyReview.party, PartyReview.state, PartyReview.due_at,
               PartyReview.decided_by, PartyReview.decided_at, PartyReview.comment, PartyReview.stage,
               PartyReview.version, PartyReview.paused_since)
        .where(col(PartyReview.proposal_id).in_(ids), PartyReview.current)
    ):
        out = _party_out(row)
        if out.paused_since and not (viewer and can_see(viewer, Scope(Visibility.LABEL_LEAD, row.party),
                                                         by_id[row.proposal_id])):
            out.paused_since = None
        signature = signed.get((row.proposal_id, row.party, row.stage, row.version)) if row.decided_by else None
        out.signature = SignatureOut(**signature.as_dict()) if signature else None
        parties.setdefault(row.proposal_id, {})[row.party] = out
    conditions: dict[int, list[ConditionOut]] = {}
    for c in session.execute(
        select(ConditionRecord.proposal_id, ConditionRecord.party, ConditionRecord.text, ConditionRecord.version,
               ConditionRecord.acknowledged)
        .where(col(ConditionRecord.proposal_id).in_(ids)).order_by(ConditionRecord.id)
    ):
        conditions.setdefault(c.proposal_id, []).append(_condition_out(c))
    answers = [_public(p, owners[p.owner_id], _in_order(p.parties, parties.get(p.id, {})), conditions.get(p.id, []))
               for p in proposals]
    _add_consent(session, answers)
    return answers


def _add_consent(session: Session, answers: list[ProposalOut]) -> None:
    """Each approved proposal's grants (their state as of now) and obligations."""
    now = datetime.now(UTC)
    grants, obligations = grant_reads.of_proposals(session, [a.id for a in answers])
    for answer in answers:
        answer.grants = {g.party: GrantOut(**grant_reads.grant_out(g, now)) for g in grants.get(answer.id, [])}
        answer.obligations = [
            ObligationOut(id=o.number, party=o.party, text=o.text, due_at=o.due_at, state=o.state,
                          overdue=o.state in ("open", "returned") and o.due_at <= now, evidence=o.evidence,
                          comment=o.comment)
            for o in obligations.get(answer.id, [])]


def _in_order(keys: list[str], by_party: dict[str, PartyOut]) -> dict[str, PartyOut]:
    """`by_party` in the proposal's party order."""
    return {party: by_party[party] for party in keys if party in by_party}


def _party_out(party) -> PartyOut:
    return PartyOut(state=party.state, due_at=party.due_at, decided_by=party.decided_by,
                    decided_at=party.decided_at, comment=party.comment, paused_since=party.paused_since)


def _condition_out(condition) -> ConditionOut:
    return ConditionOut(party=condition.party, text=condition.text, version=condition.version,
                        acknowledged=condition.acknowledged)


def _public(proposal: Proposal, owner: str, parties: dict[str, PartyOut], conditions: list[ConditionOut]) -> ProposalOut:
    return ProposalOut(
        id=proposal.id,
        title=proposal.title,
        owner=owner,
        status=proposal.status,
        version=proposal.version,
        stage=proposal.stage,
        workflow_id=workflow_id(proposal.id),
        capability=proposal.capability,
        parties=parties,
        conditions=conditions,
        outcome_scope=proposal.outcome_scope,
        tier=proposal.tier,
        route=RouteOut(**proposal.route) if proposal.route else None,
        created_at=proposal.created_at,
        updated_at=proposal.updated_at,
    )


def get_version(session: Session, proposal_id: int, number: int) -> VersionOut:
    row = session.exec(
        select(ProposalVersion).where(ProposalVersion.proposal_id == proposal_id, ProposalVersion.number == number)
    ).first()
    if row is None:
        raise NotFound(f"proposal {proposal_id} has no version {number}")
    return VersionOut(proposal_id=proposal_id, number=row.number, submitted_by=row.submitted_by,
                      submitted_at=row.submitted_at, content=row.content)
