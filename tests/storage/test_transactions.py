"""Write transactions and reads (countersign.storage.db): on SQLite a write
transaction takes the database's write lock as it begins (BEGIN IMMEDIATE),
before it reads, and a read never takes it. Audit entries are appended in
write transactions only."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from countersign.storage import audit
from countersign.storage.db import make_engine, transaction, write_session
from countersign.storage.tables import AuditEntry, utcnow
from tests import factories


def sqlite_file(engine) -> str:
    return engine.url.database


def write_lock_is_free(engine) -> bool:
    """Whether another connection could begin writing now, without waiting."""
    other = sqlite3.connect(sqlite_file(engine), timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    finally:
        other.close()


def test_a_write_transaction_holds_the_lock_from_its_first_read(engine):
    with transaction(engine) as session:
        session.exec(select(AuditEntry.id)).all()  # a read, nothing written yet
        assert not write_lock_is_free(engine)
    assert write_lock_is_free(engine)


def test_a_write_session_begins_every_transaction_as_a_writer(engine):
    with write_session(engine) as session:
        session.exec(select(AuditEntry.id)).all()
        assert not write_lock_is_free(engine)
        session.commit()
        assert write_lock_is_free(engine)
        session.exec(select(AuditEntry.id)).all()
        assert not write_lock_is_free(engine)


def test_a_read_does_not_take_the_lock_and_its_reads_agree(engine):
    with Session(engine) as session:
        assert session.exec(select(AuditEntry.id)).all() == []
        assert write_lock_is_free(engine)
        with transaction(engine) as writer:  # another connection writes meanwhile
            audit.append(writer, None, "signed_in", utcnow(), actor="someone@example.com")
        assert session.exec(select(AuditEntry.id)).all() == []  # one snapshot per transaction
        session.commit()
        assert len(session.exec(select(AuditEntry.id)).all()) == 1


def test_appends_from_two_processes_never_fork_the_access_chain(engine):
    """Two engines on one file, as the web app and the worker are: only
    SQLite's lock (not this process's own) keeps their appends apart."""
    other = make_engine(str(engine.url))
    writers, each = 4, 10
    entries = factories.log_reads_at_once([other, engine], writers, each)
    other.dispose()
    assert [e.seq for e in entries] == list(range(1, writers * each + 1))
    assert audit.check_chain(entries) is None


def test_an_audit_entry_outside_a_write_transaction_is_refused(any_engine):
    with Session(any_engine) as session:
        with pytest.raises(RuntimeError, match="write transaction"):
            audit.append(session, None, "signed_in", utcnow(), actor="someone@example.com")
    with any_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == 0
