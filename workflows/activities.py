"""Activities: the only writers of proposal state, decisions and audit entries.

Each workflow step is written in one transaction: the read model, the
decision (if any) and the audit entries together, or nothing.

`record_step` runs as a local activity, inside the workflow task that makes
the step, so it can be run twice: Temporal retries it when its transaction's
outcome was lost (the same record again: applied once), and runs the whole
workflow task again when the task never completed, e.g. when the worker
died after the transaction. The re-run may make different steps (a timer
that fired meanwhile goes first, or an update the server lost is gone) and
always has a later time, and its records are the ones the history keeps. So
a step recorded again with a later time replaces what the earlier run wrote
for it and after it; mail already sent stays sent, and the access chain of
the audit log keeps a list of what was replaced.

A step that comes again neither as it was stored nor later than the stored
steps cannot be told apart from a late attempt of a lost task by its time
alone. It is refused (`StepDiverged`) rather than taken as recorded: if the
history keeps it, the workflow fails its task, and the task's re-run brings
it again with a later time, which replaces what is stored.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Connection, Engine, bindparam, delete, insert
from sqlmodel import Session, and_, col, or_, select
from temporalio import activity
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from countersign.domain.access import Role
from countersign.domain.links import LinkSigner
from countersign.domain.notifications import Audience, Delegator, mails_for
from countersign.domain.policy import PartyConfig
from countersign.domain.routing import PartyView, current_parties
from countersign.storage import audit, delegation
from countersign.storage.db import transaction
from countersign.storage.tables import (
    AuditEntry,
    ConditionRecord,
    Decision,
    OutboxMail,
    PartyReview,
    Proposal,
    ProposalVersion,
    User,
    utcnow,
)
from workflows.messages import StepReceipt, StepRecord

log = logging.getLogger(__name__)

# The statements of every step, built once: SQLAlchemy then finds each one's
# compiled form by a key it keeps on the statement, not one it computes anew.
PROPOSAL = Proposal.__table__
SELECT_PROPOSAL = (
    select(PROPOSAL.c.id, PROPOSAL.c.owner_id, PROPOSAL.c.title, PROPOSAL.c.parties, PROPOSAL.c.last_step,
           PROPOSAL.c.last_step_at)
    .where(PROPOSAL.c.id == bindparam("proposal_id")).with_for_update()
)
UPDATE_PROPOSAL = PROPOSAL.update().where(PROPOSAL.c.id == bindparam("proposal_id"))
DELETE_PARTY_ROWS = delete(PartyReview).where(col(PartyReview.proposal_id) == bindparam("proposal_id"))
DELETE_CONDITIONS = delete(ConditionRecord).where(col(ConditionRecord.proposal_id) == bindparam("proposal_id"))
AUDIT = AuditEntry.__table__
SELECT_STEP_EVENTS = (
    select(AUDIT.c.kind, AUDIT.c.at, AUDIT.c.actor, AUDIT.c.party)
    .where(AUDIT.c.proposal_id == bindparam("proposal_id"), AUDIT.c.step == bindparam("step"))
    .order_by(AUDIT.c.seq)
)
SELECT_OWNER_EMAIL = select(User.email).where(User.id == bindparam("owner_id"))
SELECT_MAIL_USERS = select(User.email, User.role, User.party).where(
    User.active,
    or_(User.role == Role.COMPLIANCE,
        and_(User.role == Role.REP, col(User.party).in_(bindparam("parties", expanding=True)))),
).order_by(User.email)
INSERT = {model: insert(model) for model in (Proposal, ProposalVersion, Decision, PartyReview, ConditionRecord,
                                             OutboxMail)}

STEP_DIVERGED = "StepDiverged"  # the failure type the workflow acts on
STEPS_REPLACED = "steps_replaced"  # access-chain entry: what a re-run task's steps replaced

MAIL_EVENTS = frozenset({"routed", "resubmitted", "reminded", "escalated", "expired", "changes_requested",
                         "concluded"})


class ProposalActivities:
    def __init__(self, engine: Engine, parties: dict[str, PartyConfig], base_url: str,
                 links: LinkSigner | None = None) -> None:
        self._engine = engine
        self._parties = parties  # for time zones and escalation contacts in mail
        self._base_url = base_url
        self._links = links  # signs the decision links in reps' mail

    @activity.defn
    def record_step(self, record: RawValue) -> RawValue:
        """Writes the step (a `StepRecord`) and returns its `StepReceipt`: a
        local activity's history marker keeps its result, not its input, and
        reconciliation reads the steps from the history. Raw both ways, so
        the workflow never decodes what it does not read."""
        converter = activity.payload_converter()
        step = converter.from_payload(record.payload, StepRecord)
        self.apply(step)
        return RawValue(converter.to_payload(StepReceipt.of(step)))

    def apply(self, record: StepRecord) -> None:
        # Core statements on the session's connection, not ORM objects: this
        # runs once per step on the worker's hot path, and nothing here reads
        # back what it writes.
        with transaction(self._engine) as session:
            db = session.connection()
            proposal = db.execute(SELECT_PROPOSAL, {"proposal_id": record.proposal_id}).first()
            if proposal is None:
                proposal = self._create(db, record)
            elif proposal.last_step >= record.step:
                if not _from_rerun_task(proposal, record):
                    if _stored_as(db, proposal, record):
                        return  # applied already: the activity was retried
                    raise _diverged(proposal, record)
                _undo_steps_from(session, proposal, record)
            if record.new_version:
                self._add_version(db, record)
            if record.decision:
                self._add_decision(db, record)
            audit.append_events(session, record.proposal_id, record.events, step=record.step, row_locked=True)
            self._queue_mail(session, db, proposal, record)
            self._write_snapshot(db, record)

    def _queue_mail(self, session: Session, db: Connection, proposal: ProposalRow, record: StepRecord) -> None:
        if not any(event.kind in MAIL_EVENTS for event in record.events):
            return
        title = record.new_version.content["title"] if record.new_version else proposal.title
        audience = _audience(session, proposal, record.at)
        rows = [dict(proposal_id=proposal.id, kind=mail.kind, recipient=mail.recipient, subject=mail.subject,
                     body=mail.body, html_body=mail.html_body, created_at=record.at, next_attempt_at=record.at,
                     step=record.step)
                for mail in mails_for(record.events, proposal.id, title, audience, self._parties,
                                      self._base_url, self._links)]
        if rows:
            db.execute(INSERT[OutboxMail], rows)

    def _create(self, db: Connection, record: StepRecord) -> ProposalRow:
        owner_id = db.execute(select(User.id).where(User.email == record.created_by)).scalar_one()
        content = record.new_version.content
        row = dict(id=record.proposal_id, owner_id=owner_id, title=content["title"],
                   capability=content["capability"], parties=content["parties"],
                   status=record.snapshot.status.value, version=1, stage=record.snapshot.stage, pending=[],
                   created_at=record.at, updated_at=record.at, last_step=0, last_step_at=None)
        db.execute(INSERT[Proposal], row)
        return ProposalRow(record.proposal_id, owner_id, content["title"], content["parties"], 0, None)

    def _add_version(self, db: Connection, record: StepRecord) -> None:
        version = record.new_version
        db.execute(INSERT[ProposalVersion], dict(
            proposal_id=record.proposal_id, number=version.number, content=version.content,
            submitted_by=version.actor, submitted_at=record.at, step=record.step))

    def _add_decision(self, db: Connection, record: StepRecord) -> None:
        decision = record.decision
        request = decision.request
        db.execute(INSERT[Decision], dict(
            decision_id=decision.decision_id, proposal_id=record.proposal_id, version=request.version,
            stage=decision.stage, party=request.party, decision=request.decision,
            comment=request.comment.strip() or None, actor=request.actor, on_behalf_of=request.on_behalf_of,
            decided_at=record.at, step=record.step))

    def _write_snapshot(self, db: Connection, record: StepRecord) -> None:
        snapshot = record.snapshot
        proposal_id = record.proposal_id
        changes = dict(status=snapshot.status.value, version=snapshot.version, stage=snapshot.stage,
                       pending=snapshot.pending, outcome_scope=snapshot.outcome_scope,
                       next_due_at=snapshot.next_due_at, last_step=record.step, last_step_at=record.at,
                       updated_at=record.at)
        if record.new_version:
            content = record.new_version.content
            changes |= dict(title=content["title"], capability=content["capability"])
        if record.created_by:  # the first step, perhaps run again: the proposal began when it was stored
            changes["created_at"] = record.at
        db.execute(UPDATE_PROPOSAL, {"proposal_id": proposal_id} | changes)

        # Rewritten whole at every step.
        db.execute(DELETE_PARTY_ROWS, {"proposal_id": proposal_id})
        db.execute(DELETE_CONDITIONS, {"proposal_id": proposal_id})
        rows = [_party_row(proposal_id, stage.index, stage.name, view, False)
                for stage in snapshot.stages if stage.index != snapshot.stage_index for view in stage.parties]
        rows += [_party_row(proposal_id, snapshot.stage_index, snapshot.stage, view, True)
                 for view in current_parties(snapshot)]
        db.execute(INSERT[PartyReview], rows)
        if snapshot.conditions:
            db.execute(INSERT[ConditionRecord], [
                dict(proposal_id=proposal_id, party=condition.party, text=condition.text,
                     version=condition.version, acknowledged=condition.acknowledged)
                for condition in snapshot.conditions])


class ProposalRow(NamedTuple):
    """What `apply` reads of the proposal's row."""

    id: int
    owner_id: int
    title: str
    parties: list[str]
    last_step: int
    last_step_at: datetime | None


def _from_rerun_task(proposal: ProposalRow, record: StepRecord) -> bool:
    """Whether a step already recorded comes again from a workflow task run
    again after one that never completed. The re-run started later, so its
    time is later than any step the lost task wrote; the same record again (a
    retry) or a late attempt from the lost task is not later. Steps stored
    before their time was kept are never re-run."""
    return proposal.last_step_at is not None and record.at > proposal.last_step_at


def _stored_as(db: Connection, proposal: ProposalRow, record: StepRecord) -> bool:
    """Whether the stored step `record.step` is this record: the same events
    at the same times. Steps stored before their time was kept pass."""
    if proposal.last_step_at is None:
        return True
    stored = db.execute(SELECT_STEP_EVENTS, {"proposal_id": proposal.id, "step": record.step}).all()
    return [tuple(row) for row in stored] == [(e.kind, e.at.astimezone(UTC), e.actor, e.party)
                                              for e in record.events]


def _diverged(proposal: ProposalRow, record: StepRecord) -> ApplicationError:
    log.warning("proposal %s: step %s at %s differs from the stored one and is not later than the latest "
                "stored step (%s at %s)", proposal.id, record.step, record.at.isoformat(), proposal.last_step,
                proposal.last_step_at.isoformat())
    return ApplicationError(
        f"proposal {proposal.id}: step {record.step} at {record.at.isoformat()} differs from the stored step "
        f"and is not later than the latest stored one (step {proposal.last_step} at "
        f"{proposal.last_step_at.isoformat()}); a re-run of its workflow task records it again",
        type=STEP_DIVERGED, non_retryable=True)


def _undo_steps_from(session: Session, proposal: ProposalRow, record: StepRecord) -> None:
    """Remove what steps `record.step`.. wrote: a workflow task that never
    completed wrote them, and its re-run is recording them again. Audit
    entries go from the chain's tail, so the chain stays whole; the read model
    is rewritten by the step anyway. What went is kept on the access chain
    (`STEPS_REPLACED`): the proposal's chain, like the history, holds only
    what the re-run recorded, and compliance can still see what it replaced."""
    step = record.step
    log.warning("proposal %s: step %s is recorded again after its workflow task was re-run; replacing "
                "what steps %s..%s wrote", proposal.id, step, step, proposal.last_step)
    removed = session.exec(select(AuditEntry.seq, AuditEntry.kind, AuditEntry.party, AuditEntry.hash)
                           .where(AuditEntry.proposal_id == proposal.id, AuditEntry.step >= step)
                           .order_by(col(AuditEntry.seq))).all()
    decisions = session.exec(select(Decision.decision_id).where(Decision.proposal_id == proposal.id,
                                                                Decision.step >= step)).all()
    audit.append(session, None, STEPS_REPLACED, utcnow(), detail={
        "proposal_id": proposal.id, "steps": [step, proposal.last_step], "rerun_at": record.at.isoformat(),
        "entries": [dict(seq=seq, kind=kind, party=party, hash=hash) for seq, kind, party, hash in removed],
        "decision_ids": sorted(decisions)})
    for table in (Decision, ProposalVersion, AuditEntry):
        session.exec(delete(table).where(table.proposal_id == proposal.id, table.step >= step))
    session.exec(delete(OutboxMail).where(OutboxMail.proposal_id == proposal.id, OutboxMail.step >= step,
                                          OutboxMail.sent_at.is_(None)))


def _audience(session: Session, proposal: ProposalRow, at: datetime) -> Audience:
    """Who the step's mail can go to, with the delegations in force at the
    step's time (`at`): a task run again later asks the same delegates."""
    db = session.connection()
    owner = db.execute(SELECT_OWNER_EMAIL, {"owner_id": proposal.owner_id}).scalar_one()
    users = db.execute(SELECT_MAIL_USERS, {"parties": proposal.parties}).all()
    reps: dict[str, list[str]] = {}
    for user in users:
        if user.role == Role.REP:
            reps.setdefault(user.party, []).append(user.email)
    # A delegate is a rep of the delegator's party (countersign.storage.delegation), so among the reps above.
    acting_for: dict[str, list[Delegator]] = {}
    for held, delegator, delegate in delegation.in_force(session, proposal.parties, at):
        acting_for.setdefault(delegate.email, []).append(
            Delegator(held.party, delegator.name, delegator.email, held.ends_at))
    return Audience(owner, reps, [u.email for u in users if u.role == Role.COMPLIANCE], acting_for)


def _party_row(proposal_id: int, index: int, stage: str, view: PartyView, current: bool) -> dict:
    return dict(
        proposal_id=proposal_id, stage_index=index, stage=stage, party=view.party, state=view.state.value,
        current=current, due_at=view.due_at, decided_by=view.decided_by, decided_at=view.decided_at,
        comment=view.comment, version=view.version,
    )
