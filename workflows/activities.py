"""Activities: the only writers of proposal state, decisions and audit entries.

Each workflow step is written in one transaction: the read model, the
decision (if any) and the audit entries together, or nothing.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete
from sqlmodel import Session, and_, col, or_, select
from temporalio import activity

from countersign import audit
from countersign.db import transaction
from countersign.models import (
    ConditionRecord,
    Decision,
    OutboxMail,
    PartyReview,
    Proposal,
    ProposalVersion,
    Role,
    User,
)
from countersign.links import LinkSigner
from countersign.notifications import Audience, mails_for
from countersign.policy import PartyConfig
from countersign.routing import PartyView
from workflows.messages import StepRecord


MAIL_EVENTS = frozenset({"routed", "resubmitted", "reminded", "escalated", "changes_requested", "concluded"})


class ProposalActivities:
    def __init__(self, engine: Engine, parties: dict[str, PartyConfig], base_url: str,
                 links: LinkSigner | None = None) -> None:
        self._engine = engine
        self._parties = parties  # for time zones and escalation contacts in mail
        self._base_url = base_url
        self._links = links  # signs the decision links in reps' mail

    @activity.defn
    def record_step(self, record: StepRecord) -> None:
        with transaction(self._engine) as session:
            proposal = session.get(Proposal, record.proposal_id, with_for_update=True)
            if proposal is None:
                proposal = self._create(session, record)
            elif proposal.last_step >= record.step:
                return  # applied by an earlier attempt whose completion was lost
            if record.new_version:
                self._add_version(session, proposal, record)
            if record.decision:
                self._add_decision(session, record)
            for event in record.events:
                audit.append(session, record.proposal_id, event.kind, event.at, event.actor, event.party, event.detail)
            self._queue_mail(session, proposal, record)
            self._write_snapshot(session, proposal, record)

    def _queue_mail(self, session: Session, proposal: Proposal, record: StepRecord) -> None:
        if not any(event.kind in MAIL_EVENTS for event in record.events):
            return
        audience = _audience(session, proposal)
        for mail in mails_for(record.events, proposal.id, proposal.title, audience, self._parties, self._base_url,
                              self._links):
            session.add(OutboxMail(proposal_id=proposal.id, kind=mail.kind, recipient=mail.recipient,
                                   subject=mail.subject, body=mail.body, created_at=record.at,
                                   next_attempt_at=record.at))

    def _create(self, session: Session, record: StepRecord) -> Proposal:
        owner = session.exec(select(User).where(User.email == record.created_by)).one()
        content = record.new_version.content
        proposal = Proposal(
            id=record.proposal_id,
            owner_id=owner.id,
            title=content["title"],
            capability=content["capability"],
            parties=content["parties"],
            status=record.snapshot.status.value,
            version=1,
            stage=record.snapshot.stage,
            pending=[],
            created_at=record.at,
            updated_at=record.at,
        )
        session.add(proposal)
        session.flush()
        return proposal

    def _add_version(self, session: Session, proposal: Proposal, record: StepRecord) -> None:
        version = record.new_version
        proposal.title = version.content["title"]
        proposal.capability = version.content["capability"]
        session.add(
            ProposalVersion(
                proposal_id=record.proposal_id,
                number=version.number,
                content=version.content,
                submitted_by=version.actor,
                submitted_at=record.at,
            )
        )

    def _add_decision(self, session: Session, record: StepRecord) -> None:
        decision = record.decision
        request = decision.request
        session.add(
            Decision(
                decision_id=decision.decision_id,
                proposal_id=record.proposal_id,
                version=request.version,
                stage=decision.stage,
                party=request.party,
                decision=request.decision,
                comment=request.comment.strip() or None,
                actor=request.actor,
                on_behalf_of=request.on_behalf_of,
                decided_at=record.at,
            )
        )

    def _write_snapshot(self, session: Session, proposal: Proposal, record: StepRecord) -> None:
        snapshot = record.snapshot
        proposal.status = snapshot.status.value
        proposal.version = snapshot.version
        proposal.stage = snapshot.stage
        proposal.pending = snapshot.pending
        proposal.outcome_scope = snapshot.outcome_scope
        proposal.next_due_at = snapshot.next_due_at
        proposal.last_step = record.step
        proposal.updated_at = record.at
        session.add(proposal)

        session.exec(delete(PartyReview).where(PartyReview.proposal_id == proposal.id))
        session.exec(delete(ConditionRecord).where(ConditionRecord.proposal_id == proposal.id))
        for stage in snapshot.stages:
            for view in stage.parties:
                current = stage.index == snapshot.stage_index
                session.add(_party_row(proposal.id, stage.index, stage.name, view, current))
        in_stage = {view.party for view in snapshot.stages[snapshot.stage_index].parties}
        for view in snapshot.parties:  # touched parties outside the current stage: waiting or dropped
            if view.party not in in_stage:
                session.add(_party_row(proposal.id, snapshot.stage_index, snapshot.stage, view, True))
        for condition in snapshot.conditions:
            session.add(ConditionRecord(proposal_id=proposal.id, party=condition.party, text=condition.text,
                                        version=condition.version, acknowledged=condition.acknowledged))


def _audience(session: Session, proposal: Proposal) -> Audience:
    owner = session.get(User, proposal.owner_id)
    users = session.exec(
        select(User).where(
            User.active,
            or_(User.role == Role.COMPLIANCE, and_(User.role == Role.REP, col(User.party).in_(proposal.parties))),
        ).order_by(User.email)
    ).all()
    reps: dict[str, list[str]] = {}
    for user in users:
        if user.role == Role.REP:
            reps.setdefault(user.party, []).append(user.email)
    return Audience(owner.email, reps, [u.email for u in users if u.role == Role.COMPLIANCE])


def _party_row(proposal_id: int, index: int, stage: str, view: PartyView, current: bool) -> PartyReview:
    return PartyReview(
        proposal_id=proposal_id, stage_index=index, stage=stage, party=view.party, state=view.state.value,
        current=current, due_at=view.due_at, decided_by=view.decided_by, decided_at=view.decided_at,
        comment=view.comment, version=view.version,
    )
