"""Activities: the only writers of proposal state, decisions and audit entries.

Each workflow step is written in one transaction: the read model, the
decision (if any), the audit entries and the step's mail together, or
nothing. Decisions and audit entries are only ever inserted: the database
refuses to change or remove them (migration 0005).

`record_step` is a scheduled activity: its input is in the workflow's
history before it runs, so every attempt brings the same record. An attempt
can still run twice (its outcome was lost, or it outlived its timeout): a
step the database holds already is skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import Connection, Engine, bindparam, delete, insert
from sqlmodel import Session, and_, col, or_, select
from temporalio import activity

from countersign.domain.access import Role
from countersign.domain.links import LinkSigner
from countersign.domain.messages import FILE, FILE_REMOVED
from countersign.domain.notifications import MAILED_KINDS, Audience, Delegator, mails_for
from countersign.domain.policy import PartyConfig
from countersign.domain.routing import Event, PartyView, current_parties
from countersign.domain.signature import Signature, manifest
from countersign.storage import audit, delegation, proposal_words, queries, webhooks
from countersign.storage.db import transaction
from countersign.storage.grant_tables import GrantRecord, ObligationRecord
from countersign.storage.message_tables import ObligationFile, StoredFile, VersionFileRemoval
from countersign.storage.tables import (
    ConditionRecord,
    Decision,
    OutboxMail,
    PartyReview,
    Proposal,
    ProposalVersion,
    User,
)
from workflows.messages import StepRecord

if TYPE_CHECKING:
    from workflows.checkpoint import CheckpointActivities
    from workflows.webhook_delivery import WebhookWaker

# The statements of every step, built once: SQLAlchemy then finds each one's
# compiled form by a key it keeps on the statement, not one it computes anew.
PROPOSAL = Proposal.__table__
SELECT_PROPOSAL = (
    select(PROPOSAL.c.id, PROPOSAL.c.owner_id, PROPOSAL.c.title, PROPOSAL.c.parties, PROPOSAL.c.last_step)
    .where(PROPOSAL.c.id == bindparam("proposal_id")).with_for_update()
)
UPDATE_PROPOSAL = PROPOSAL.update().where(PROPOSAL.c.id == bindparam("proposal_id"))
DELETE_PARTY_ROWS = delete(PartyReview).where(col(PartyReview.proposal_id) == bindparam("proposal_id"))
DELETE_CONDITIONS = delete(ConditionRecord).where(col(ConditionRecord.proposal_id) == bindparam("proposal_id"))
SELECT_OWNER_EMAIL = select(User.email).where(User.id == bindparam("owner_id"))
SELECT_MAIL_USERS = select(User.email, User.role, User.party).where(
    User.active,
    or_(User.role == Role.COMPLIANCE,
        and_(User.role == Role.REP, col(User.party).in_(bindparam("parties", expanding=True)))),
).order_by(User.email)
DELETE_GRANTS = delete(GrantRecord).where(col(GrantRecord.proposal_id) == bindparam("proposal_id"))
DELETE_OBLIGATIONS = delete(ObligationRecord).where(col(ObligationRecord.proposal_id) == bindparam("proposal_id"))
INSERT = {model: insert(model) for model in (Proposal, ProposalVersion, Decision, PartyReview, ConditionRecord,
                                             OutboxMail, GrantRecord, ObligationRecord, StoredFile, ObligationFile,
                                             VersionFileRemoval)}
INSERT_FILE = insert(StoredFile).returning(StoredFile.id)
SELECT_FILE = select(StoredFile.name, StoredFile.sha256).where(StoredFile.id == bindparam("file_id"))


class ProposalActivities:
    def __init__(self, engine: Engine, parties: dict[str, PartyConfig], base_url: str,
                 links: LinkSigner | None = None, checkpoints: CheckpointActivities | None = None,
                 webhook_waker: WebhookWaker | None = None) -> None:
        self._engine = engine
        self._parties = parties  # for time zones and escalation contacts in mail
        self._base_url = base_url
        self._links = links  # signs the decision links in reps' mail
        self._checkpoints = checkpoints  # signs a checkpoint of the log when a proposal concludes
        self._webhook_waker = webhook_waker  # wakes the delivery of webhooks the step queued

    @activity.defn
    def record_step(self, record: StepRecord) -> None:
        """Write the step, unless the database holds it already (by proposal and step);
        a concluding step is followed by a checkpoint of the whole log, in a
        transaction of its own."""
        woken = self._write(record)
        if woken and self._webhook_waker is not None:
            self._webhook_waker.wake_from_thread(woken)
        if self._checkpoints is not None and any(event.kind == "concluded" for event in record.events):
            # The step is stored: a checkpoint that cannot be signed now must not
            # hold the proposal's conclusion back. The checkpoint Schedule signs
            # the log within the hour in any case, this step's entries included.
            try:
                self._checkpoints.sign_now()
            except Exception:
                activity.logger.exception("no checkpoint after proposal %s concluded; the Schedule will sign one",
                                          record.proposal_id)

    def _write(self, record: StepRecord) -> list[int]:
        """The step, in one transaction; the webhook endpoints it queued deliveries for."""
        # Core statements on the session's connection, not ORM objects: this
        # runs once per step, and nothing here reads back what it writes.
        with transaction(self._engine) as session:
            db = session.connection()
            proposal = db.execute(SELECT_PROPOSAL, {"proposal_id": record.proposal_id}).first()
            if proposal is None:
                proposal = self._create(db, record)
            elif proposal.last_step >= record.step:
                return []  # stored already: this attempt repeats one whose outcome was lost
            files = self._add_version(db, record) if record.new_version else []
            if record.decision:
                self._add_decision(db, record)
            entries = audit.append_events(session, record.proposal_id, [*record.events, *files], step=record.step,
                                          row_locked=True)
            self._add_evidence_files(db, record)
            self._queue_mail(session, db, proposal, record)
            self._write_snapshot(db, record)
            return self._queue_webhooks(db, proposal, record, entries)

    def _queue_webhooks(self, db: Connection, proposal: ProposalRow, record: StepRecord,
                        entries: list[dict]) -> list[int]:
        """The entries' events for every endpoint that may see the proposal: the parties it touched
        before this step and after (a resubmission may change them)."""
        content = record.new_version.content if record.new_version else {}
        parties = sorted(set(proposal.parties) | set(content.get("parties", [])))
        return webhooks.queue_for_entries(db, record.proposal_id, parties, content.get("title", proposal.title),
                                          entries, record.at)

    def _queue_mail(self, session: Session, db: Connection, proposal: ProposalRow, record: StepRecord) -> None:
        if not any(event.kind in MAILED_KINDS for event in record.events):
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
                   created_at=record.at, updated_at=record.at, last_step=0)
        db.execute(INSERT[Proposal], row)
        return ProposalRow(record.proposal_id, owner_id, content["title"], content["parties"], 0)

    def _add_version(self, db: Connection, record: StepRecord) -> list[Event]:
        """The version, the files attached with it and those it leaves out; the files' entries
        for the chain (conversation kinds: beside the workflow's, not in its history)."""
        version = record.new_version
        db.execute(INSERT[ProposalVersion], dict(
            proposal_id=record.proposal_id, number=version.number, content=version.content,
            submitted_by=version.actor, submitted_at=record.at, step=record.step))
        proposal_words.rewrite(db, record.proposal_id, version.content)  # what the lists' text search reads
        entries = []
        for f in version.files:
            file_id = db.execute(INSERT_FILE, dict(
                proposal_id=record.proposal_id, name=f.name, size=f.size, content_type=f.content_type,
                sha256=f.sha256, version=version.number, uploaded_by=version.actor, created_at=record.at)).scalar_one()
            entries.append(Event(FILE, record.at, actor=version.actor, detail={
                "file_id": file_id, "name": f.name, "size": f.size, "content_type": f.content_type,
                "sha256": f.sha256, "version": version.number, "message_id": None, "visibility": None}))
        for file_id in version.remove_files:
            removed = db.execute(SELECT_FILE, {"file_id": file_id}).one()
            db.execute(INSERT[VersionFileRemoval], dict(proposal_id=record.proposal_id, file_id=file_id,
                                                        version=version.number, removed_by=version.actor,
                                                        removed_at=record.at))
            entries.append(Event(FILE_REMOVED, record.at, actor=version.actor, detail={
                "file_id": file_id, "name": removed.name, "sha256": removed.sha256, "version": version.number}))
        return entries

    def _add_decision(self, db: Connection, record: StepRecord) -> None:
        decision = record.decision
        request = decision.request
        db.execute(INSERT[Decision], dict(
            decision_id=decision.decision_id, proposal_id=record.proposal_id, version=request.version,
            stage=decision.stage, party=request.party, decision=request.decision,
            comment=request.comment.strip() or None, actor=request.actor, on_behalf_of=request.on_behalf_of,
            decided_at=record.at, step=record.step, signature=self._signature(decision, record.at).stored(),
            reauthenticated=request.reauthenticated))

    def _add_evidence_files(self, db: Connection, record: StepRecord) -> None:
        """A file sent as evidence (its bytes stored by the web app before the update): its row and
        its link to the obligation, in the step that records the evidence."""
        for event in record.events:
            if event.kind != "evidence_submitted" or "file_sha256" not in event.detail:
                continue
            detail = event.detail
            file_id = db.execute(INSERT[StoredFile], {
                "proposal_id": record.proposal_id, "name": detail["file_name"], "size": int(detail["file_size"]),
                "content_type": detail["file_type"], "sha256": detail["file_sha256"], "version": None,
                "uploaded_by": event.actor, "created_at": record.at}).inserted_primary_key[0]
            db.execute(INSERT[ObligationFile], {"file_id": file_id, "proposal_id": record.proposal_id,
                                                "obligation": int(detail["obligation"]), "party": event.party,
                                                "step": record.step})

    def _signature(self, decision, at: datetime) -> Signature:
        request = decision.request
        party = self._parties.get(request.party)
        return manifest(verdict=request.decision, party_name=party.name if party else request.party,
                        zone=party.timezone if party else "UTC", stage=decision.stage, version=request.version,
                        signer_name=request.signer_name or request.actor, signer_role=request.signer_role or "rep",
                        decided_at=at, on_behalf_of=request.on_behalf_of)

    def _write_snapshot(self, db: Connection, record: StepRecord) -> None:
        snapshot = record.snapshot
        proposal_id = record.proposal_id
        changes = dict(status=snapshot.status.value, version=snapshot.version, stage=snapshot.stage,
                       pending=snapshot.pending, outcome_scope=snapshot.outcome_scope,
                       next_due_at=snapshot.next_due_at, last_step=record.step, updated_at=record.at,
                       tier=snapshot.tier, route=_route(snapshot))
        if record.new_version:
            content = record.new_version.content
            changes |= dict(title=content["title"], capability=content["capability"])
        db.execute(UPDATE_PROPOSAL, {"proposal_id": proposal_id} | changes)

        # The read model's rows of the proposal, rewritten whole at every step.
        db.execute(DELETE_PARTY_ROWS, {"proposal_id": proposal_id})
        db.execute(DELETE_CONDITIONS, {"proposal_id": proposal_id})
        rows = [_party_row(proposal_id, stage.index, stage.name, view, current=False)
                for stage in snapshot.stages if stage.index != snapshot.stage_index for view in stage.parties]
        rows += [_party_row(proposal_id, snapshot.stage_index, snapshot.stage, view, current=True,
                            waiting=queries.waits_on(snapshot.status.value, snapshot.pending, view.party,
                                                     view.state.value, current=True))
                 for view in current_parties(snapshot)]
        db.execute(INSERT[PartyReview], rows)
        if snapshot.conditions:
            db.execute(INSERT[ConditionRecord], [
                dict(proposal_id=proposal_id, party=condition.party, text=condition.text,
                     version=condition.version, acknowledged=condition.acknowledged)
                for condition in snapshot.conditions])
        if record.consent is not None:
            _write_consent(db, proposal_id, record.consent)


def _route(snapshot) -> dict | None:
    if snapshot.tier is None:
        return None
    return {"rules": snapshot.tier_rules,
            "stages": [dict(name=s.name, rule=s.rule, added_by=s.added_by, rule_set_by=s.rule_set_by, due=s.due)
                       for s in snapshot.route]}


def _write_consent(db: Connection, proposal_id: int, consent) -> None:
    """The grants and obligations, rewritten whole, as the party rows are."""
    db.execute(DELETE_GRANTS, {"proposal_id": proposal_id})
    db.execute(DELETE_OBLIGATIONS, {"proposal_id": proposal_id})
    if consent.grants:
        db.execute(INSERT[GrantRecord], [
            dict(proposal_id=proposal_id, party=g.party, state=g.state.value, scope=g.scope, markets=g.markets,
                 starts_at=g.starts_at, expires_at=g.expires_at, version=g.version, reason=g.reason)
            for g in consent.grants.values()])
    if consent.obligations:
        db.execute(INSERT[ObligationRecord], [
            dict(proposal_id=proposal_id, number=o.id, party=o.party, text=o.text, due_at=o.due_at,
                 state=o.state.value, evidence=o.evidence, comment=o.comment)
            for o in consent.obligations])


class ProposalRow(NamedTuple):
    """What `apply` reads of the proposal's row."""

    id: int
    owner_id: int
    title: str
    parties: list[str]
    last_step: int


def _audience(session: Session, proposal: ProposalRow, at: datetime) -> Audience:
    """Who the step's mail can go to, with the delegations in force at the
    step's time (`at`): an attempt run again later asks the same delegates."""
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


def _party_row(proposal_id: int, index: int, stage: str, view: PartyView, current: bool,
               waiting: bool = False) -> dict:
    return dict(
        proposal_id=proposal_id, stage_index=index, stage=stage, party=view.party, state=view.state.value,
        current=current, waiting=waiting, due_at=view.due_at, decided_by=view.decided_by, decided_at=view.decided_at,
        comment=view.comment, version=view.version, paused_since=view.paused_since,
    )
