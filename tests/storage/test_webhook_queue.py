"""Webhook deliveries queued with the step's audit entries, on SQLite and
PostgreSQL: one per subscribed endpoint that may see the proposal, carrying
the entry's seq and hash, written once even when the step's activity runs
twice, and nothing for a deleted endpoint."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from countersign.storage import webhooks
from countersign.storage.db import transaction
from countersign.storage.tables import AuditEntry, utcnow
from countersign.storage.webhook_tables import WebhookDelivery
from tests.storage.test_record_step import PROPOSAL, START, Run, activities  # noqa: F401  (a fixture)


def endpoint(engine, party, events, deleted=False) -> int:
    with transaction(engine) as session:
        row = webhooks.create_endpoint(session, "admin@example.com", party, "https://hooks.example/x", events)
        if deleted:
            webhooks.delete_endpoint(session, row)
        return row.id


def test_each_step_queues_its_events_for_the_endpoints_that_may_see_them(any_engine, activities):  # noqa: F811
    run = Run()
    sony = endpoint(any_engine, "sony", ["proposal.submitted", "proposal.decided"])
    platform = endpoint(any_engine, None, ["proposal.decided"])
    other = endpoint(any_engine, "kobalt", ["proposal.submitted"])  # a party this proposal does not touch
    gone = endpoint(any_engine, "sony", ["proposal.submitted"], deleted=True)
    activities.record_step(run.opening)
    decided = run.decide(2, "warner", "warner-1", START + timedelta(hours=1))
    activities.record_step(decided)
    activities.record_step(decided)  # an attempt run twice queues once

    with Session(any_engine) as session:
        rows = session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id))).all()
        hashes = dict(session.exec(select(AuditEntry.seq, AuditEntry.hash)
                                   .where(AuditEntry.proposal_id == PROPOSAL)).all())
    by_endpoint = {e: [(r.event_type, r.seq) for r in rows if r.endpoint_id == e] for e in (sony, platform, other, gone)}
    assert by_endpoint[sony] == [("proposal.submitted", 1), ("proposal.decided", by_endpoint[platform][0][1])]
    assert [t for t, _ in by_endpoint[platform]] == ["proposal.decided"]
    assert by_endpoint[other] == by_endpoint[gone] == []
    for row in rows:
        assert row.payload["data"]["hash"] == hashes[row.seq] and row.state == "pending"
    # The decision was warner's: sony's copy has no comment field; the platform's keeps it.
    sony_decided = next(r for r in rows if r.endpoint_id == sony and r.event_type == "proposal.decided")
    assert "comment" not in sony_decided.payload["data"]["detail"]
    assert "comment" in next(r for r in rows if r.endpoint_id == platform).payload["data"]["detail"]
    with Session(any_engine) as session:
        assert webhooks.pending(session, sony, 10) == [r.id for r in rows if r.endpoint_id == sony]


def test_a_rotated_secret_signs_only_until_its_overlap_ends(any_engine):
    with transaction(any_engine) as session:
        row = webhooks.create_endpoint(session, "admin@example.com", None, "https://hooks.example/x",
                                       ["proposal.submitted"])
        old = row.secret
        new = webhooks.rotate_secret(session, row, timedelta(hours=1))
        assert webhooks.signing_secrets(row, utcnow()) == [new, old]
        assert webhooks.signing_secrets(row, utcnow() + timedelta(hours=2)) == [new]


def test_a_message_is_an_event_only_for_the_organisations_that_may_see_it(any_engine, tmp_path):
    """A Sony rep's question to the lead (label and lead): Sony's endpoint and the platform's get
    it as proposal.question_asked (hashes, never the text); Universal's gets nothing. A file on
    the version is everyone's."""
    from datetime import UTC, datetime

    from countersign.storage import audit, messages
    from countersign.storage.tables import Proposal
    from tests import factories

    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    lead = factories.user(any_engine, "lead")
    rep = factories.user(any_engine, "rep", "sony")
    events = ["proposal.question_asked", "proposal.message_posted", "proposal.file_attached"]
    sony, universal, platform = (endpoint(any_engine, party, events) for party in ("sony", "universal", None))
    with transaction(any_engine) as session:
        session.add(Proposal(id=PROPOSAL, owner_id=lead.id, title="t", capability="c", parties=["sony", "universal"],
                             status="in_review", version=1, stage="Rights", pending=["sony"], created_at=at,
                             updated_at=at))
        session.flush()
        audit.append(session, PROPOSAL, "submitted", at, actor=lead.email)
    with transaction(any_engine) as session:
        messages.post_message(session, rep, PROPOSAL, "Is the licence renewed?", None, None, None, True,
                              "http://x", now=at)
        messages.store_file(session, lead, PROPOSAL, "licence.pdf", b"%PDF-1.4 licence", tmp_path, now=at)

    with Session(any_engine) as session:
        rows = session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id))).all()
    got = {e: [r.event_type for r in rows if r.endpoint_id == e] for e in (sony, universal, platform)}
    assert got[sony] == got[platform] == ["proposal.question_asked", "proposal.file_attached"]
    assert got[universal] == ["proposal.file_attached"]
    question = next(r for r in rows if r.event_type == "proposal.question_asked")
    assert "Is the licence renewed?" not in str(question.payload) and question.payload["data"]["detail"]["text_sha256"]
