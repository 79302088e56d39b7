"""The hash chain in the database, on SQLite and PostgreSQL: appends link up,
and every edit, deletion or reordering done behind the application's back
is caught, at the entry where it happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlmodel import Session

from countersign.storage import audit
from countersign.storage.db import transaction
from countersign.storage.tables import Proposal
from tests import factories
from tests.audit.conftest import past_the_triggers, set_detail, sql

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def seed(engine, proposal_id: int | None = 1, count: int = 4) -> None:
    with transaction(engine) as session:
        for n in range(count):
            audit.append(
                session,
                proposal_id,
                "decided",
                T0 + timedelta(minutes=n),
                actor=f"rep{n}@example.com",
                party="sony",
                detail={"decision": "approve", "comment": f"fine {n}", "version": "1"},
            )


def report(engine, proposal_id: int | None = None) -> audit.VerifyReport:
    with Session(engine) as session:
        return audit.verify(session, proposal_id)


def test_appends_link_each_entry_to_the_one_before(any_engine):
    seed(any_engine, 1, 3)
    seed(any_engine, 2, 2)
    seed(any_engine, None, 2)
    with Session(any_engine) as session:
        first = audit.chain(session, 1)
        access = audit.chain(session, None)
    assert [e.seq for e in first] == [1, 2, 3]
    assert first[0].prev_hash == audit.GENESIS
    assert [e.prev_hash for e in first[1:]] == [e.hash for e in first[:-1]]
    assert all(e.hash == audit.entry_hash(e.prev_hash, e) for e in first + access)
    assert access[0].proposal_id is None and access[0].prev_hash == audit.GENESIS
    result = report(any_engine)
    assert result.ok and (result.chains, result.entries) == (3, 7)


def test_an_edited_comment_is_caught_at_its_entry(any_engine):
    seed(any_engine, 1, 4)
    set_detail(any_engine, 1, 3, {"decision": "approve", "comment": "forged", "version": "1"})
    result = report(any_engine)
    assert not result.ok
    broken = result.breaks[0]
    assert (broken.proposal_id, broken.seq) == (1, 3)
    assert "edited" in broken.problem
    assert str(broken).startswith("proposal 1, entry seq 3:")


def test_an_edited_actor_or_time_is_caught(any_engine):
    seed(any_engine, 1, 3)
    sql(
        any_engine,
        "UPDATE audit_entry SET actor = 'someone.else@example.com' WHERE proposal_id = 1 AND seq = 1",
    )
    seed(any_engine, 2, 3)
    with past_the_triggers(any_engine) as conn, Session(conn) as session:
        moved = audit.chain(session, 2)[1]
        moved.at = moved.at + timedelta(days=1)
        session.add(moved)
        session.flush()
    breaks = {(b.proposal_id, b.seq) for b in report(any_engine).breaks}
    assert breaks == {(1, 1), (2, 2)}


def test_a_deleted_entry_is_caught_after_the_gap(any_engine):
    seed(any_engine, 1, 4)
    assert sql(any_engine, "DELETE FROM audit_entry WHERE proposal_id = 1 AND seq = 2") == 1
    broken = report(any_engine).breaks[0]
    assert broken.seq == 3
    assert "entry 2 missing" in broken.problem


def test_reordered_entries_are_caught(any_engine):
    seed(any_engine, 1, 4)
    # Swap entries 2 and 3 (through a free number: (proposal_id, seq) is unique).
    sql(any_engine, "UPDATE audit_entry SET seq = 99 WHERE proposal_id = 1 AND seq = 2")
    sql(any_engine, "UPDATE audit_entry SET seq = 2 WHERE proposal_id = 1 AND seq = 3")
    sql(any_engine, "UPDATE audit_entry SET seq = 3 WHERE proposal_id = 1 AND seq = 99")
    broken = report(any_engine).breaks[0]
    assert broken.seq == 2
    assert "reordered" in broken.problem


def test_an_entry_rehashed_after_editing_breaks_the_next_link(any_engine):
    seed(any_engine, 1, 4)
    with past_the_triggers(any_engine) as conn, Session(conn) as session:
        entry = audit.chain(session, 1)[1]
        entry.detail = {**entry.detail, "comment": "forged"}
        entry.hash = audit.entry_hash(entry.prev_hash, entry)  # a careful forger recomputes its hash
        session.add(entry)
        session.flush()
    broken = report(any_engine).breaks[0]
    assert broken.seq == 3
    assert "prev_hash" in broken.problem


def test_the_access_chain_is_checked_too(any_engine):
    seed(any_engine, None, 3)
    set_detail(any_engine, None, 2, {"via": "api", "proposals": "1"})
    broken = report(any_engine).breaks[0]
    assert (broken.proposal_id, broken.seq) == (None, 2)
    assert str(broken).startswith("access log, entry seq 2:")


def test_a_proposal_whose_chain_was_deleted_is_caught(any_engine):
    owner = factories.user(any_engine, "lead")
    with transaction(any_engine) as session:
        session.add(
            Proposal(
                id=7,
                owner_id=owner.id,
                title="t",
                capability="remix",
                parties=["sony"],
                status="in_review",
                version=1,
                stage="Review",
                pending=["sony"],
                created_at=T0,
                updated_at=T0,
            )
        )
    seed(any_engine, 7, 2)
    assert report(any_engine).ok
    sql(any_engine, "DELETE FROM audit_entry WHERE proposal_id = 7")
    broken = report(any_engine).breaks[0]
    assert (broken.proposal_id, broken.seq) == (7, None)
    assert "no audit entries" in broken.problem


def test_verifying_one_proposal_checks_only_its_chain(any_engine):
    seed(any_engine, 1, 2)
    seed(any_engine, 2, 2)
    set_detail(any_engine, 2, 1, {"comment": "forged"})
    assert report(any_engine, 1).ok and report(any_engine, 1).chains == 1
    assert [b.proposal_id for b in report(any_engine, 2).breaks] == [2]


def test_times_in_any_zone_hash_as_the_database_gives_them_back(any_engine):
    paris = timezone(timedelta(hours=1))
    with transaction(any_engine) as session:
        audit.append(
            session,
            1,
            "reminded",
            datetime(2026, 11, 25, 11, 0, 0, 123456, tzinfo=paris),
            party="believe",
            detail={"stage": "Review", "attempt": 1, "parties": ("a", "b")},
        )
    assert report(any_engine).ok
    with Session(any_engine) as session:
        stored = audit.chain(session, 1)[0]
    assert stored.at == datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)


def test_concurrent_appends_to_the_access_chain_never_fork(any_engine):
    """The access chain has no unique (proposal_id, seq) to stop a fork, so
    appends must serialize: many writers at once still make one chain."""
    writers, each = 6, 8
    entries = factories.log_reads_at_once([any_engine], writers, each)
    assert [e.seq for e in entries] == list(range(1, writers * each + 1))
    assert audit.check_chain(entries) is None
