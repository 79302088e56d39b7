"""Shared fixtures: one time-skipping Temporal test server per session, a
fresh database per test (SQLite file copied from a migrated template, or the
local PostgreSQL, truncated), and a worker on a fresh task queue."""

from __future__ import annotations

import os
import shutil
import sysconfig
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy
from sqlmodel import SQLModel
from temporalio.testing import WorkflowEnvironment

from countersign.db import make_engine, migrate
from tests import factories
from workflows.worker import build_worker
from workflows import search_attributes as sa

BIN = Path(sysconfig.get_path("scripts"))
POSTGRES_URL = os.environ.get("COUNTERSIGN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "countersign.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A migrated PostgreSQL database of this session's own, or a skip."""
    admin = sqlalchemy.create_engine(
        POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    name = f"countersign_test_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sqlalchemy.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL answers at {POSTGRES_URL}: {exc.orig}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def _sqlite_engine(template: Path, tmp_path: Path):
    path = tmp_path / "countersign.sqlite3"
    shutil.copy(template, path)
    return make_engine(f"sqlite:///{path}")


def _postgres_engine(url: str):
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return engine


@pytest.fixture
def engine(sqlite_template, tmp_path):
    """The default database for tests: SQLite, fresh per test."""
    engine = _sqlite_engine(sqlite_template, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_engine(request, sqlite_template, tmp_path):
    """Database-layer tests run on both SQLite and PostgreSQL."""
    if request.param == "sqlite":
        engine = _sqlite_engine(sqlite_template, tmp_path)
    else:
        engine = _postgres_engine(request.getfixturevalue("postgres_url"))
    yield engine
    engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def temporal_env():
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    await sa.register(env.client, "default")
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture
async def worker(temporal_env, engine, task_queue):
    async with build_worker(temporal_env.client, engine, task_queue, factories.policy()) as running:
        yield running
