"""Recording a step, on SQLite and PostgreSQL.

`record_step` is a scheduled activity: the history holds its input, so
every attempt brings the same record, but an attempt can run twice (its
outcome was lost, or it outlived its timeout and its retry ran beside it).
A step already stored is skipped: each decision, audit entry, version and
mail once, and an audit chain that verifies.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlmodel import Session, col, select
from temporalio.converter import DataConverter

from countersign.domain import calendar
from countersign.domain.routing import Event, Review
from countersign.domain.version_files import FileFacts
from countersign.storage import audit, messages
from countersign.storage.message_tables import StoredFile
from countersign.storage.tables import AuditEntry, Decision, OutboxMail, Proposal, ProposalVersion
from tests import factories
from workflows.activities import ProposalActivities
from workflows.messages import DecisionRecord, DecisionRequest, NewVersion, StepRecord

PROPOSAL = 4_343_431  # clear of the id blocks conftest reserves per test
LEAD = "lead@example.com"
START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


class Run:
    """A proposal's review as the workflow drives it, producing its step records."""

    def __init__(self) -> None:
        self.policy = factories.policy()
        calendar.preload({party.holidays for party in self.policy.parties.values()})
        body = factories.submission()
        self.review, opening = Review.open(self.policy, body["parties"], START)
        submitted = Event("submitted", START, actor=LEAD, detail={"version": "1"})
        self.opening = StepRecord(PROPOSAL, 1, START, self.review.snapshot(), [submitted, *opening],
                                  created_by=LEAD, new_version=NewVersion(1, body, LEAD))

    def decide(self, step: int, party: str, decision_id: str, at: datetime) -> StepRecord:
        request = DecisionRequest(party, "approve", "", 1, f"rep.{party}@example.com")
        stage = self.review.stage.name
        events = self.review.decide(party, "approve", "", 1, request.actor, at)
        return StepRecord(PROPOSAL, step, at, self.review.snapshot(), events,
                          decision=DecisionRecord(decision_id, request, stage))

    def clock(self, step: int, at: datetime) -> StepRecord:
        return StepRecord(PROPOSAL, step, at, self.review.snapshot(), self.review.advance_clock(at))


@pytest.fixture
def activities(any_engine) -> ProposalActivities:
    factories.all_users(any_engine)
    return ProposalActivities(any_engine, factories.policy().parties, "http://countersign.test")


def stored(engine) -> tuple[Proposal, list[Decision], list[AuditEntry], list[OutboxMail]]:
    with Session(engine) as session:
        proposal = session.get(Proposal, PROPOSAL)
        decisions = session.exec(select(Decision).where(Decision.proposal_id == PROPOSAL)).all()
        entries = session.exec(select(AuditEntry).where(AuditEntry.proposal_id == PROPOSAL)
                               .order_by(col(AuditEntry.seq))).all()
        mail = session.exec(select(OutboxMail).where(OutboxMail.proposal_id == PROPOSAL)).all()
        assert audit.verify(session, PROPOSAL).ok
    return proposal, decisions, entries, mail


def test_the_input_crosses_the_sdks_converter_whole():
    """The activity takes a typed `StepRecord` through the SDK's default converter."""
    run = Run()
    record = run.decide(2, "sony", "sony-1", START + timedelta(hours=1))
    converter = DataConverter.default.payload_converter
    assert converter.from_payload(converter.to_payload(record), StepRecord) == record


def test_a_step_stored_already_is_skipped(activities, any_engine):
    run = Run()
    activities.record_step(run.opening)
    reminder = run.clock(2, run.review.next_deadline())
    assert {e.kind for e in reminder.events} == {"reminded"}  # a step that queues mail
    activities.record_step(reminder)
    decided = run.decide(3, "sony", "sony-1", reminder.at + timedelta(hours=1))
    activities.record_step(decided)
    before = stored(any_engine)

    activities.record_step(decided)  # the activity retried: its first outcome was lost
    activities.record_step(reminder)  # an older attempt, late
    activities.record_step(run.opening)
    proposal, decisions, entries, mail = stored(any_engine)
    assert [d.decision_id for d in decisions] == ["sony-1"]
    assert [(e.seq, e.hash) for e in entries] == [(e.seq, e.hash) for e in before[2]]
    assert sorted(m.id for m in mail) == sorted(m.id for m in before[3]) and mail
    assert (proposal.last_step, proposal.updated_at) == (3, decided.at)


def test_a_stored_step_is_never_changed(activities, any_engine):
    """Whatever another record for a stored step holds, what the database
    holds stays: steps are added, never rewritten."""
    first, other = Run(), Run()
    activities.record_step(first.opening)
    activities.record_step(first.decide(2, "sony", "sony-1", START + timedelta(hours=1)))
    before = stored(any_engine)
    activities.record_step(other.decide(2, "merlin", "merlin-1", START + timedelta(hours=2)))
    proposal, decisions, entries, _ = stored(any_engine)
    assert [(d.decision_id, d.party) for d in decisions] == [("sony-1", "sony")]
    assert [(e.seq, e.hash) for e in entries] == [(e.seq, e.hash) for e in before[2]]
    assert proposal.pending == before[0].pending


@pytest.mark.parametrize("step", ["opening", "decision"])
def test_two_attempts_at_once_record_the_step_once(activities, any_engine, step):
    """An attempt that outlived its timeout runs beside its retry. The second
    waits for the first (the proposal's row on PostgreSQL, the write lock on
    SQLite) and skips the step, or, racing to insert the proposal, fails and
    is retried, to skip it then."""
    run = Run()
    if step == "decision":
        activities.record_step(run.opening)
    record = run.opening if step == "opening" else run.decide(2, "sony", "sony-1", START + timedelta(hours=1))
    both = threading.Barrier(2)
    failures: list[Exception] = []

    def attempt() -> None:
        both.wait()
        try:
            activities.record_step(record)
        except IntegrityError as error:  # the proposal's row inserted by the other attempt meanwhile
            failures.append(error)
            activities.record_step(record)  # Temporal's retry

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(failures) <= (1 if step == "opening" else 0)
    proposal, decisions, entries, _ = stored(any_engine)
    with Session(any_engine) as session:
        versions = session.exec(select(ProposalVersion).where(ProposalVersion.proposal_id == PROPOSAL)).all()
    assert proposal.last_step == record.step and len(versions) == 1
    assert [e.kind for e in entries].count("submitted") == 1
    assert [d.decision_id for d in decisions] == ([] if step == "opening" else ["sony-1"])


def test_a_step_with_grants_and_a_tier_crosses_the_converter_and_is_stored(activities, any_engine):
    """The tier, the route and the consent: through the SDK's converter, then the database."""
    from countersign.domain.grants import Consent
    from countersign.domain.policy import load_policy
    from countersign.storage.grant_tables import GrantRecord, ObligationRecord

    policy = load_policy(factories.POLICIES / "tiers_seconds.toml")
    body = factories.submission(policy, synthesises=["voice"], launch_scope="pilot", markets=["GB"])
    review, opening = Review.open(policy, body["parties"], START, content=body)
    while review.pending_parties():
        party = review.pending_parties()[0]
        verdict = "approve_with_conditions" if party == "warner" else "approve"
        review.decide(party, verdict, "Monthly report", 1, f"rep.{party}@example.com", START)
    review.acknowledge(LEAD, START)
    consent, issued = Consent.issue(review, body, policy, START)
    converter = DataConverter.default.payload_converter
    first = StepRecord(PROPOSAL, 1, START, review.snapshot(), opening, created_by=LEAD,
                       new_version=NewVersion(1, body, LEAD))
    grants = StepRecord(PROPOSAL, 2, START, review.snapshot(), issued, consent=consent)
    assert converter.from_payload(converter.to_payload(grants), StepRecord) == grants
    activities.record_step(converter.from_payload(converter.to_payload(first), StepRecord))
    activities.record_step(converter.from_payload(converter.to_payload(grants), StepRecord))
    with Session(any_engine) as session:
        proposal = session.get(Proposal, PROPOSAL)
        assert proposal.tier == "high" and proposal.route["rules"] == ["synthetic-voice-beyond-sandbox"]
        assert [s["added_by"] for s in proposal.route["stages"]][1] == "synthetic-voice-beyond-sandbox"
        rows = session.exec(select(GrantRecord).where(GrantRecord.proposal_id == PROPOSAL)).all()
        assert {(g.party, g.state, g.scope, tuple(g.markets)) for g in rows} == {
            (p, "active", "pilot", ("GB",)) for p in body["parties"]}
        obligations = session.exec(select(ObligationRecord).where(ObligationRecord.proposal_id == PROPOSAL)).all()
        assert obligations and {(o.party, o.state) for o in obligations} == {("warner", "open")}


def test_a_decision_is_stored_with_its_signature_which_reads_back_everywhere(activities, any_engine):
    """The signature's manifestation is computed as the decision is stored and kept with it
    (countersign.domain.signature); the answers read it back (countersign.storage.signatures)."""
    from countersign.storage.signatures import export_signatures, signatures_by_step, signatures_of_current

    run = Run()
    activities.record_step(run.opening)
    at = START + timedelta(hours=1)
    record = run.decide(2, "sony", "sony-1", at)
    record.decision.request.signer_name, record.decision.request.signer_role = "Ana Ruiz", "rep"
    record.decision.request.reauthenticated = "password"
    activities.record_step(record)
    _, decisions, entries, _ = stored(any_engine)
    stage = record.decision.stage
    meaning = f"Approved, for Sony Music Group, {stage}, version 1"
    assert [(d.reauthenticated, d.signature["meaning"], d.signature["name"]) for d in decisions] == [
        ("password", meaning, "Ana Ruiz")]
    assert decisions[0].signature["at"] == "2026-11-02T06:00:00-05:00"  # 11:00 UTC in New York
    with Session(any_engine) as session:
        assert signatures_by_step(session, PROPOSAL)[2].meaning == meaning
        assert signatures_of_current(session, [PROPOSAL])[(PROPOSAL, "sony", stage, 1)].name == "Ana Ruiz"
        assert export_signatures(session, [PROPOSAL])[(PROPOSAL, 2)]["meaning"] == meaning
    assert [e.step for e in entries if e.kind == "decided"] == [2]  # how an audit entry finds its signature


def test_a_versions_files_and_removals_are_stored_with_it_once(activities, any_engine):
    """Files attached with a version (their bytes already stored) and those a resubmission leaves out:
    rows and audit entries in the version's step, append-only, a retried step adding none again."""
    run = Run()
    licence = FileFacts("licence.pdf", 9, "application/pdf", "a" * 64)
    stems = FileFacts("s.csv", 4, "text/csv", "b" * 64)
    opening = dataclasses.replace(run.opening, new_version=NewVersion(1, run.opening.new_version.content, LEAD,
                                                                      [licence, stems]))
    converter = DataConverter.default.payload_converter
    assert converter.from_payload(converter.to_payload(opening), StepRecord) == opening
    activities.record_step(opening)
    with Session(any_engine) as session:
        first = session.exec(select(StoredFile).order_by(col(StoredFile.id))).all()
    assert [(f.name, f.version, f.uploaded_by) for f in first] == [("licence.pdf", 1, LEAD), ("s.csv", 1, LEAD)]
    second = StepRecord(PROPOSAL, 2, START + timedelta(days=1), run.review.snapshot(), [],
                        new_version=NewVersion(2, run.opening.new_version.content, LEAD,
                                               [FileFacts("owners.txt", 3, "text/plain", "c" * 64)], [first[1].id]))
    activities.record_step(second)
    activities.record_step(second)  # retried: stored once
    _, _, entries, _ = stored(any_engine)
    assert [e.kind for e in entries] == ["submitted", "routed", "file", "file", "file", "file_removed"]
    assert entries[-1].detail == {"file_id": first[1].id, "name": "s.csv", "sha256": "b" * 64, "version": 2}
    with Session(any_engine) as session:
        assert len(session.exec(select(StoredFile)).all()) == 3
        proposal = session.get(Proposal, PROPOSAL)
        proposal.version = 2  # the snapshot above left it at 1; the files' reading needs the version
        sets = messages.version_files(session, proposal)
        assert [f.name for f in sets[2].files] == ["licence.pdf", "owners.txt"]
        assert ([f.name for f in sets[2].added], [f.name for f in sets[2].removed]) == (["owners.txt"], ["s.csv"])
    with pytest.raises(DatabaseError, match="append-only"), Session(any_engine) as session:
        session.execute(text("UPDATE version_file_removal SET version = 3"))
        session.commit()
