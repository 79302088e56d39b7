"""Decisions and audit entries are append-only, and the database itself
refuses to change or remove them (migration 0005), on SQLite and
PostgreSQL; the read model stays writable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from countersign.storage import audit
from countersign.storage.db import transaction
from countersign.storage.tables import Decision, Proposal
from tests import factories

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PROPOSAL = 4_343_432  # clear of the id blocks conftest reserves per test


@pytest.fixture
def stored(any_engine):
    """One proposal with a decision and an audit entry."""
    lead = factories.user(any_engine, "lead")
    with transaction(any_engine) as session:
        session.add(Proposal(id=PROPOSAL, owner_id=lead.id, title="t", capability="c", parties=["sony"],
                             status="in_review", version=1, stage="Rights", pending=["sony"], created_at=AT,
                             updated_at=AT))
        session.flush()
        session.add(Decision(decision_id="d-1", proposal_id=PROPOSAL, version=1, stage="Rights", party="sony",
                             decision="approve", actor="rep.sony@example.com", decided_at=AT))
        audit.append(session, PROPOSAL, "decided", AT, actor="rep.sony@example.com", party="sony")
    return any_engine


def run(engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement))


POSTGRES_ONLY = pytest.mark.parametrize("any_engine", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                                        indirect=True)


@pytest.mark.parametrize("table", ["decision", "audit_entry"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET proposal_id = proposal_id", "DELETE FROM {table}"])
def test_changing_or_removing_an_entry_is_refused(stored, table, statement):
    with pytest.raises(IntegrityError, match=f"{table}: entries are append-only; (UPDATE|DELETE) refused"):
        run(stored, statement.format(table=table))
    with stored.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1


@POSTGRES_ONLY
@pytest.mark.parametrize("table", ["decision", "audit_entry"])
def test_truncating_is_refused_on_postgresql(stored, table):
    with pytest.raises(IntegrityError, match=f"{table}: entries are append-only; TRUNCATE refused"):
        run(stored, f"TRUNCATE {table} CASCADE")
    with pytest.raises(IntegrityError, match="decision: entries are append-only; TRUNCATE refused"):
        run(stored, "TRUNCATE proposal CASCADE")  # the cascade reaches the decisions


@POSTGRES_ONLY
def test_postgresql_refuses_even_a_statement_that_matches_no_entry(stored):
    """Its triggers are per statement (SQLite's are per row)."""
    with pytest.raises(IntegrityError, match="audit_entry: entries are append-only; DELETE refused"):
        run(stored, "DELETE FROM audit_entry WHERE id = -1")


def test_the_read_model_stays_writable(stored):
    run(stored, f"UPDATE proposal SET status = 'approved' WHERE id = {PROPOSAL}")
    with stored.connect() as conn:
        assert conn.execute(text(f"SELECT status FROM proposal WHERE id = {PROPOSAL}")).scalar_one() == "approved"


def test_an_obligations_evidence_file_link_is_append_only(stored):
    """Migration 0020: a file sent as evidence stays linked to its obligation."""
    run(stored, f"INSERT INTO stored_file (id, proposal_id, name, size, content_type, sha256, uploaded_by, created_at) "
                f"VALUES (7, {PROPOSAL}, 'e.pdf', 3, 'application/pdf', '{'ab' * 32}', 'lead@example.com', "
                f"'2026-11-25 10:00:00+00:00')")
    run(stored, f"INSERT INTO obligation_file (file_id, proposal_id, obligation, party, step) "
                f"VALUES (7, {PROPOSAL}, 1, 'sony', 4)")
    for statement in ("UPDATE obligation_file SET party = 'warner'", "DELETE FROM obligation_file"):
        with pytest.raises(IntegrityError, match="obligation_file: entries are append-only"):
            run(stored, statement)
