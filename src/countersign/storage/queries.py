"""Reads of the read model, shaped for the API and the pages."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import String, bindparam, cast, false
from sqlmodel import Session, col, func, select

from countersign.domain.access import Action, Role, require, visible
from countersign.domain.errors import NotFound
from countersign.domain.policy import PARTY_KEY_RE
from countersign.storage import proposal_words
from countersign.storage.tables import (
    AuditEntry,
    ConditionRecord,
    PartyReview,
    Proposal,
    ProposalVersion,
    User,
)


def workflow_id(proposal_id: int) -> str:
    return f"proposal-{proposal_id}"


def get_visible(session: Session, user: User, proposal_id: int, fresh: bool = False) -> Proposal:
    """The proposal, if `user` may see it (`fresh`: read again even if the
    session holds it already, e.g. after the workflow changed it)."""
    return _visible_or_404(user, session.get(Proposal, proposal_id, populate_existing=fresh), proposal_id)


def _visible_or_404(user: User, proposal, proposal_id: int):
    """`proposal` (a row or None), if `user` may see it; its existence is private."""
    if proposal is None or not visible(user, proposal):
        raise NotFound(f"no proposal {proposal_id}")
    return proposal


def get_for(session: Session, user: User, action: Action, proposal_id: int) -> Proposal:
    """The proposal, if `user` may see it and take `action` on it."""
    proposal = get_visible(session, user, proposal_id)
    require(user, action, proposal)
    return proposal


class ProposalAccess(NamedTuple):
    """What deciding who may act on a proposal reads of it (`access_for`)."""

    id: int
    owner_id: int
    parties: list[str]
    pending: list[str]
    status: str
    version: int


# Built once: every command reads it.
_ACCESS = select(*(getattr(Proposal, name) for name in ProposalAccess._fields)).where(
    Proposal.id == bindparam("proposal_id"))


def access_for(session: Session, user: User, action: Action, proposal_id: int) -> ProposalAccess:
    """`get_for` for a command, which needs no more of the proposal than who
    may act on it: a row, not an ORM object (every decision reads it)."""
    row = session.connection().execute(_ACCESS, {"proposal_id": proposal_id}).first()
    proposal = _visible_or_404(user, ProposalAccess(*row) if row is not None else None, proposal_id)
    require(user, action, proposal)
    return proposal


def list_visible(
    session: Session,
    user: User,
    status: str | None = None,
    party: str | None = None,
    stage: str | None = None,
    limit: int = 200,
    offset: int = 0,
    terms: tuple[str, ...] = (),
) -> list[Proposal]:
    """What `user` may see, newest change first; `party`: touching that party's catalog;
    `terms`: each beginning a word of the title or summary (countersign.domain.search)."""
    query = _visible_query(user, status, party, stage, proposal_words.matching(session, terms))
    query = query.order_by(col(Proposal.updated_at).desc(), col(Proposal.id).desc()).offset(offset).limit(limit)
    return list(session.exec(query))


def inbox(session: Session, party: str) -> list[Proposal]:
    """Proposals waiting on `party`, soonest due first: every row the inbox page pages through."""
    return [proposal for proposal, _ in inbox_rows(session, party, limit=None)]


def stage_matrix(session: Session, proposal_id: int) -> list[tuple[str, dict[str, PartyReview]]]:
    """Every stage opened so far, with each party's row in it."""
    rows = session.exec(
        select(PartyReview).where(PartyReview.proposal_id == proposal_id).order_by(PartyReview.stage_index)
    ).all()
    stages: dict[int, tuple[str, dict[str, PartyReview]]] = {}
    for row in rows:
        stages.setdefault(row.stage_index, (row.stage, {}))[1][row.party] = row
    return [stages[i] for i in sorted(stages)]


# -- the pages' reads ----------------------------------------------------------


def _listed(column, party: str):
    """`party` is in the JSON list `column`: a match on its text, read from the proposal row alone
    (no per-proposal lookup in party_review; every key is a quoted word of [a-z0-9_-])."""
    return cast(column, String).like('%"' + party.replace("_", "\\_") + '"%', escape="\\")


def _visible_query(user: User, status: str | None = None, party: str | None = None, stage: str | None = None,
                   words: list = ()):
    query = select(Proposal)
    if user.role == Role.LEAD:
        query = query.where(Proposal.owner_id == user.id)
    elif user.role == Role.REP:
        query = query.where(_listed(Proposal.parties, user.party))
    if status:
        query = query.where(Proposal.status == status)
    if party:
        # A proposal's parties are the ones it touches: each has a current row in party_review.
        query = query.where(_listed(Proposal.parties, party) if PARTY_KEY_RE.match(party) else false())
    if stage:
        query = query.where(Proposal.stage == stage)
    return query.where(*words)


def count_visible(session: Session, user: User, status: str | None = None, party: str | None = None,
                  terms: tuple[str, ...] = (), most: int | None = None) -> int:
    """How many proposals `list_visible` would page through, counted up to `most` (if given)."""
    subquery = _visible_query(user, status, party, words=proposal_words.matching(session, terms)).limit(most).subquery()
    return session.exec(select(func.count()).select_from(subquery)).one()


def waits_on(status: str, pending: list[str], party: str, state: str, current: bool) -> bool:
    """Whether a party's row puts the proposal in that party's inbox: its current row is pending while
    the proposal is in review and still waits on it. The writer of the read model stores this as
    `PartyReview.waiting`, so the inbox and its count (on every page a rep sees) read one index."""
    return current and state == "pending" and status == "in_review" and party in pending


def inbox_rows(session: Session, party: str, limit: int | None = 50, offset: int = 0) -> list[tuple[Proposal, PartyReview]]:
    """What waits on `party`, with its row (due time), soonest due first."""
    query = (
        select(Proposal, PartyReview)
        .join(Proposal, PartyReview.proposal_id == Proposal.id)
        .where(PartyReview.party == party, PartyReview.waiting)
        .order_by(col(PartyReview.due_at).asc(), col(Proposal.id)).offset(offset).limit(limit)
    )
    return [(proposal, row) for proposal, row in session.exec(query)]


def inbox_count(session: Session, party: str) -> int:
    """How many proposals wait on `party`: the rows `inbox_rows` pages through, from the index alone."""
    query = select(func.count()).select_from(PartyReview).where(PartyReview.party == party, PartyReview.waiting)
    return session.exec(query).one()


def stage_matrices(session: Session, ids: list[int]) -> dict[int, list[tuple[str, dict[str, PartyReview]]]]:
    """`stage_matrix` for many proposals, in one query."""
    found: dict[int, dict[int, tuple[str, dict[str, PartyReview]]]] = {}
    if not ids:
        return {}
    for row in session.exec(select(PartyReview).where(col(PartyReview.proposal_id).in_(ids))):
        found.setdefault(row.proposal_id, {}).setdefault(row.stage_index, (row.stage, {}))[1][row.party] = row
    return {pid: [stages[i] for i in sorted(stages)] for pid, stages in found.items()}


def versions(session: Session, proposal_id: int) -> list[ProposalVersion]:
    return list(session.exec(
        select(ProposalVersion).where(ProposalVersion.proposal_id == proposal_id).order_by(ProposalVersion.number)
    ))


def audit_entries(session: Session, proposal_id: int, kinds: tuple[str, ...]) -> list[AuditEntry]:
    """A proposal's audit entries of the given kinds, oldest first."""
    return list(session.exec(
        select(AuditEntry)
        .where(AuditEntry.proposal_id == proposal_id, col(AuditEntry.kind).in_(kinds))
        .order_by(AuditEntry.seq)
    ))


def awaiting_lead(session: Session, user: User, limit: int = 20) -> list[Proposal]:
    """A lead's proposals that wait on them: returned for changes, or with conditions not yet acknowledged."""
    returned = select(Proposal).where(Proposal.owner_id == user.id, Proposal.status == "changes_requested")
    with_conditions = select(Proposal).where(
        Proposal.owner_id == user.id,
        select(ConditionRecord.id).where(ConditionRecord.proposal_id == Proposal.id,
                                         ConditionRecord.acknowledged == False).exists(),  # noqa: E712
    )
    found = {p.id: p for p in session.exec(returned.order_by(col(Proposal.updated_at).desc()).limit(limit))}
    for p in session.exec(with_conditions.order_by(col(Proposal.updated_at).desc()).limit(limit)):
        found.setdefault(p.id, p)
    return list(found.values())
