"""The versions a reviewer has seen (countersign.storage.version_views), on SQLite and PostgreSQL:
each written once however often it is opened, and the last one before the version under decision
is the later of the last opened and the last decided on."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from countersign.storage import version_views
from countersign.storage.db import transaction
from countersign.storage.tables import Decision, Proposal, VersionView
from tests import factories

PID = 5_180_000


def test_seen_versions_are_written_once_and_the_last_before_counts(any_engine):
    owner, rep = factories.user(any_engine, "lead"), factories.user(any_engine, "rep", "sony")
    now = datetime.now(UTC)
    with transaction(any_engine) as session:
        session.add(Proposal(id=PID, owner_id=owner.id, title="AI remix studio", capability="remix",
                             parties=["sony"], status="in_review", version=4, stage="Review", pending=["sony"],
                             created_at=now, updated_at=now))
    with Session(any_engine) as session:
        assert version_views.last_seen_before(session, rep, PID, 4) is None
    for version in (1, 1, 4):
        version_views.record(any_engine, rep.id, PID, version)
    with Session(any_engine) as session:
        assert [v.version for v in session.exec(select(VersionView).order_by(VersionView.version))] == [1, 4]
        assert version_views.seen(session, rep.id, PID, 4) and not version_views.seen(session, rep.id, PID, 2)
        assert not version_views.seen(session, owner.id, PID, 1)
        assert version_views.last_seen_before(session, rep, PID, 4) == 1
    with transaction(any_engine) as session:  # they decided on version 2 (through the API, say)
        session.add(Decision(decision_id="seen-test", proposal_id=PID, version=2, stage="Review", party="sony",
                             decision="request_changes", comment="More", actor=rep.email, decided_at=now))
    with Session(any_engine) as session:
        assert version_views.last_seen_before(session, rep, PID, 4) == 2
        assert version_views.last_seen_before(session, rep, PID, 2) == 1
        assert version_views.last_seen_before(session, owner, PID, 4) is None
