"""Fixtures for the compliance tests (signed-in browsers come from tests/conftest.py):
tampering by SQL past the append-only triggers, the `countersign audit` commands, and a
Temporal dev server for visibility queries (the time-skipping test server
does not implement ListWorkflowExecutions)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from api.cli_audit import audit_app
from tests import factories


async def submit(api, **overrides) -> dict:
    response = await api("lead").post("/api/v1/proposals", json=factories.submission(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def decide(
    api,
    party: str,
    proposal_id: int,
    decision: str = "approve",
    comment: str = "ok",
    decision_id: str | None = None,
) -> dict:
    body = {"decision": decision, "comment": comment, "decision_id": decision_id or f"d-{uuid.uuid4().hex}"}
    response = await api(party).post(f"/api/v1/proposals/{proposal_id}/decisions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@contextmanager
def past_the_triggers(engine) -> Iterator[Connection]:
    """A transaction of someone who owns the database and gets past the
    triggers that keep decisions and audit entries append-only (migration
    0005): on PostgreSQL, replica mode skips them for this transaction; on
    SQLite (the test's own file) they are dropped, and created again before
    it commits. What the hash chain and reconciliation must still catch."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            yield conn
            return
        triggers = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all()
        for name, _ in triggers:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        yield conn
        for _, create in triggers:
            conn.exec_driver_sql(create)


def sql(engine, statement: str, **params) -> int:
    """Run one statement as the database's owner could, past the append-only triggers; the rows changed."""
    with past_the_triggers(engine) as conn:
        return conn.execute(text(statement), params).rowcount


def set_detail(engine, proposal_id: int | None, seq: int, detail: dict) -> None:
    """Overwrite a stored entry's detail (JSON) behind the application's back."""
    cast = "CAST(:detail AS json)" if engine.dialect.name == "postgresql" else ":detail"
    where = "proposal_id IS NULL" if proposal_id is None else "proposal_id = :pid"
    changed = sql(
        engine,
        f"UPDATE audit_entry SET detail = {cast} WHERE {where} AND seq = :seq",
        detail=json.dumps(detail),
        pid=proposal_id,
        seq=seq,
    )
    assert changed == 1


def database_url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def cli(engine, temporal_env):
    """`await cli(*args)`: run `countersign audit ...` against the test database
    and Temporal server, in a thread (the commands run their own event loop)."""
    runner = CliRunner()
    env = {
        "COUNTERSIGN_DATABASE_URL": database_url(engine),
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": "default",
    }

    async def run(*args: str):
        return await asyncio.to_thread(runner.invoke, audit_app, list(args), env=env, catch_exceptions=False)

    return run
