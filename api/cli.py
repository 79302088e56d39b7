"""The `countersign` command line (API.md).

    countersign up        everything on one machine: Temporal dev server, worker, web app
    countersign migrate   bring the database schema up to date (production: once per release)
    countersign worker    the worker alone, against the Temporal server configured
    countersign web       the web app alone
    countersign users add / tokens create

Settings come from the environment and `.env` (countersign.settings); flags
override them. A setting, policy file or account that is not right stops
the command with a one-line message and exit code 2.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from api.cli_audit import audit_app
from api.cli_witness import witness_app
from api.cli_identity import scim_token_app
from countersign.domain.access import Role
from countersign.domain.errors import NotFound, PolicyError
from countersign.domain.passwords import problem
from countersign.domain.policy import Policy, load_policy
from countersign.settings import Settings
from countersign.storage.accounts import (
    AccountError,
    create_token,
    create_user,
    revoke_token,
    tokens_of,
    use_password_cost,
)
from countersign.storage.db import make_engine, transaction
from countersign.storage.db import migrate as migrate_database
from countersign.storage.tables import User

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.envconfig import ClientConnectConfig
    from temporalio.worker import Worker

    from api.worker_process import WorkerProcess

# The web app, the worker and Temporal's modules are imported by the commands
# that run them, so that `users add` and `tokens create` start quickly.

log = logging.getLogger("countersign")

USAGE_ERROR = 2  # bad settings, policy, flags or account details; as click does for bad flags
DEMO_PASSWORDS_FILE = "demo-accounts.json"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_TEMPORAL_PORT = 7233
SHUTDOWN_GRACE = 10  # seconds for requests and activity steps in flight to finish
# uvicorn closes a connection idle this many seconds. Whatever keeps
# connections open to it (nginx, test and bench clients) drops idle ones well
# before: a request sent just as a busy web process closes the connection is
# reset, and nginx answers a POST lost that way with a 502.
KEEP_ALIVE = 5
CLIENT_KEEP_ALIVE = 1  # how long our own test and bench clients keep an idle connection

app = typer.Typer(
    name="countersign",
    help="Multi-party sign-off for AI music products, on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")
app.add_typer(witness_app, name="witness")
app.add_typer(scim_token_app, name="scim-token")


def main() -> None:
    """Console script entry point (`countersign = "api.cli:main"`)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C before the services had started: nothing to stop
        sys.exit(130)


# -- shared -------------------------------------------------------------------


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    typer.echo(f"countersign: {message}", err=True)
    raise typer.Exit(code)


_ENV_NAMES = {"temporal_address": "TEMPORAL_ADDRESS", "temporal_namespace": "TEMPORAL_NAMESPACE"}


def load_settings(**overrides) -> Settings:
    """Settings from the environment; flags given (not None) win. Passwords
    are hashed at their cost from here on."""
    try:
        settings = Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            message = error["msg"].removeprefix("Value error, ")
            if error["loc"]:
                field = str(error["loc"][0])
                env_name = _ENV_NAMES.get(field, f"COUNTERSIGN_{field.upper()}")
                message = f"{env_name}={error['input']!r}: {message}"
            problems.append(message)
        fail("bad settings: " + "; ".join(problems))
    use_password_cost(settings)
    return settings


def load_checked_policy(settings: Settings) -> Policy:
    try:
        return load_policy(settings.policy)
    except PolicyError as exc:
        fail(str(exc))


def migrated_engine(settings: Settings) -> Engine:
    """The app database, its schema brought up to date (idempotent)."""
    if settings.database_url is None:  # SQLite in the data dir
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    try:
        migrate_database(engine)
    except OperationalError as exc:
        engine.dispose()
        fail(f"cannot migrate the database {engine.url.render_as_string(hide_password=True)}: {exc.orig}", 1)
    return engine


@contextmanager
def quiet_migrations() -> Iterator[None]:
    """Account commands print one result; Alembic's chatter would bury it."""
    alembic = logging.getLogger("alembic")
    level = alembic.level
    alembic.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alembic.setLevel(level)


def temporal_config(settings: Settings) -> ClientConnectConfig:
    """The Temporal connection the settings and the envconfig profile describe
    (workflows.client.connect_config); one that cannot be read stops the command."""
    from workflows.client import TemporalConfigError, connect_config

    try:
        return connect_config(settings.temporal_address, settings.temporal_namespace)
    except TemporalConfigError as exc:
        fail(str(exc))


def require_temporal(settings: Settings, command: str) -> ClientConnectConfig:
    config = temporal_config(settings)
    if "target_host" not in config:
        fail(f"`countersign {command}` needs a Temporal server: set TEMPORAL_ADDRESS (host:port of your "
             "Temporal frontend), or an address in a profile of TEMPORAL_CONFIG_FILE; to run everything on "
             "one machine use `countersign up`")
    return config


def listen(host: str, port: int) -> socket.socket:
    """Take the web port before anything starts, so a taken port fails fast
    and nothing started later (the Temporal Web UI) can take it. Connections
    wait in the backlog until the web app serves them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port} for the web app: {exc.strerror}; pick another with --port")
    return sock


def web_url(host: str, port: int) -> str:
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"  # listening everywhere: this machine can use the loopback address
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run_service(main: Coroutine[Any, Any, int]) -> int:
    """Run a long-lived command (up, worker, web) on uvloop when it is installed
    (`countersign[fast]`: the worker and the web app spend less CPU per decision
    on it), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


class WebServer(uvicorn.Server):
    """uvicorn without signal handlers of its own: `countersign` stops the web
    app, the worker and the Temporal server together, in that order."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def web_server(app_, host: str, port: int, trusted_proxies: str = "127.0.0.1") -> WebServer:
    # X-Forwarded-For is believed only from the proxies named, so that sign-in
    # throttling per address sees the client's address, not the proxy's.
    return WebServer(uvicorn.Config(app_, host=host, port=port, log_level="info", proxy_headers=True,
                                    forwarded_allow_ips=trusted_proxies,
                                    timeout_keep_alive=KEEP_ALIVE, timeout_graceful_shutdown=SHUTDOWN_GRACE))


class StopSignals:
    """SIGINT or SIGTERM: the first asks everything to stop cleanly; a second
    one stops the web app without waiting for requests in flight."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.web: WebServer | None = None

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._received, sig)

    def _received(self, sig: int) -> None:
        if self.requested.is_set():
            if self.web is not None:
                self.web.force_exit = True
            return
        log.info("%s received: stopping", signal.Signals(sig).name)
        self.requested.set()


async def connect_temporal(address: str | None, namespace: str | None) -> Client:
    """Connect (workflows.client.connect: the settings, then the envconfig
    profile) and register the search attributes."""
    from workflows.client import TemporalConfigError, connect
    from workflows.search_attributes import register

    try:
        client = await connect(address, namespace)
    except TemporalConfigError as exc:
        fail(str(exc))
    except RuntimeError as exc:
        fail(f"cannot reach Temporal at {address or 'the configured address'}: {exc}", 1)
    await register(client, client.namespace)
    return client


def mail_dispatcher(settings: Settings, engine: Engine):
    """The SMTP sender beside the worker, when COUNTERSIGN_SMTP_URL is set
    (otherwise mail stays in the outbox table, readable by admins)."""
    if not settings.smtp_url:
        return None
    from workflows.mail_dispatcher import MailDispatcher

    try:
        return MailDispatcher(engine, settings.smtp_url, settings.mail_from, base_url=settings.base_url)
    except ValueError as exc:
        fail(f"bad settings: {exc}")


STICKY_TIMEOUT = timedelta(seconds=3)


def build_worker(client: Client, engine: Engine, settings: Settings, policy: Policy) -> Worker:
    from workflows.worker import build_worker as build

    try:
        signer = settings.checkpoint_signer
    except ValueError as exc:
        fail(f"bad settings: {exc}")
    # The grace lets a step being recorded finish its transaction on shutdown. A worker that
    # died leaves its workflows' tasks on its sticky queue until this timeout (the SDK's 10 s
    # default): a restarted worker (api.supervisor) takes them over after 3 s instead.
    from workflows.webhook_delivery import DeliveryPolicy

    hooks = DeliveryPolicy(attempts=settings.webhook_attempts, first_retry_seconds=settings.webhook_first_retry_seconds,
                           max_retry_seconds=settings.webhook_max_retry_seconds,
                           timeout_seconds=settings.webhook_timeout_seconds)
    return build(client, engine, settings.task_queue, policy, base_url=settings.base_url,
                 link_secret=settings.session_secret, checkpoint_signer=signer, webhook_policy=hooks,
                 graceful_shutdown_timeout=timedelta(seconds=SHUTDOWN_GRACE),
                 sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT)


async def serve(stop: StopSignals, *, web: WebServer | None = None, listener: socket.socket | None = None,
                worker: Worker | WorkerProcess | None = None, mail=None, on_ready=None) -> int:
    """Run the parts until a signal asks them to stop or one of them ends on
    its own; then stop the web app (requests in flight may still need the
    worker), the mail dispatcher, then the worker. 0 if all went well."""
    stop.web = web
    tasks: dict[str, asyncio.Task] = {}
    if worker is not None:
        tasks["worker"] = asyncio.create_task(worker.run(), name="worker")
    mail_stop = asyncio.Event()
    if mail is not None:
        tasks["mail dispatcher"] = asyncio.create_task(mail.run(mail_stop), name="mail")
    if web is not None:
        tasks["web app"] = asyncio.create_task(web.serve(sockets=[listener]), name="web")
    stopping = asyncio.create_task(stop.requested.wait())
    if web is not None:
        while not web.started and not tasks["web app"].done() and not stop.requested.is_set():
            await asyncio.sleep(0.05)
    started = not stop.requested.is_set() and not any(task.done() for task in tasks.values())
    if on_ready is not None and started:
        on_ready()
    await asyncio.wait([stopping, *tasks.values()], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    ended_early = [name for name, task in tasks.items() if task.done()]
    for name in ended_early:
        log.error("the %s stopped on its own; stopping the rest", name)

    if web is not None:
        web.should_exit = True
        await asyncio.wait([tasks["web app"]])
    mail_stop.set()
    if worker is not None and not tasks["worker"].done():
        await worker.shutdown()  # also when asked to stop before it got going
    results = await asyncio.gather(*tasks.values(), return_exceptions=True)
    failed = False
    for name, result in zip(tasks, results):
        if isinstance(result, BaseException):
            failed = True
            log.error("the %s failed", name, exc_info=result)
    return 1 if failed or ended_early else 0


# -- up -----------------------------------------------------------------------


DemoFlag = Annotated[bool, typer.Option("--demo", help="Create demo accounts and print their passwords.")]
DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help="Where the databases live (default: COUNTERSIGN_DATA_DIR, else ./data).")]
HostOption = Annotated[str, typer.Option("--host", help="Address the web app listens on.")]
PortOption = Annotated[int, typer.Option("--port", min=0, max=65535, help="Port of the web app.")]
TemporalPortOption = Annotated[int, typer.Option(
    "--temporal-port", min=1, max=64535,
    help="Port of the embedded Temporal server; its Web UI takes this port + 1000.")]


@app.command()
def up(demo: DemoFlag = False, data_dir: DataDirOption = None, host: HostOption = DEFAULT_HOST,
       port: PortOption = DEFAULT_PORT, temporal_port: TemporalPortOption = DEFAULT_TEMPORAL_PORT) -> None:
    """Everything on one machine: Temporal, the worker (a child process) and the web app.

    The embedded Temporal dev server keeps its data in SQLite in the data dir.
    Ctrl-C or SIGTERM stops everything. With a Temporal server configured
    (TEMPORAL_ADDRESS, or an address in a profile of TEMPORAL_CONFIG_FILE),
    uses that server instead."""
    settings = load_settings(data_dir=data_dir)
    settings.data_dir = settings.data_dir.resolve()
    if demo and settings.environment == "production":
        fail("--demo prints account passwords; it is refused with COUNTERSIGN_ENVIRONMENT=production")
    policy = load_checked_policy(settings)  # refused here, with its message, before anything starts
    temporal = temporal_config(settings)
    embedded = "target_host" not in temporal
    if embedded and ("api_key" in temporal or temporal.get("tls")):
        fail("Temporal TLS or an API key is configured but no address: set TEMPORAL_ADDRESS, or an address "
             "in the profile")
    if embedded and port in (temporal_port, temporal_port + 1000):
        fail(f"--port {port} is taken by Temporal (--temporal-port {temporal_port}; "
             "its Web UI on that + 1000)")
    listener = listen(host, port)
    engine = None
    try:
        engine = migrated_engine(settings)
        url = web_url(host, listener.getsockname()[1])
        if "base_url" not in settings.model_fields_set:
            settings.base_url = url  # links in e-mail point at this run, whatever its port
        accounts = demo_accounts(engine, settings.data_dir, policy) if demo else []
        code = run_service(_up(settings, temporal, engine, listener, temporal_port, url, accounts))
    finally:
        listener.close()
        if engine is not None:
            engine.dispose()
    raise typer.Exit(code)


async def _up(settings: Settings, temporal: ClientConnectConfig, engine: Engine, listener: socket.socket,
              temporal_port: int, url: str, accounts: list[tuple[str, str, str, str]]) -> int:
    from api.app import create_app
    from api.supervisor import Health, Supervisor
    from api.worker_process import WorkerProcess
    from workflows import dev_server

    stop = StopSignals()
    stop.install()  # from here on, a signal stops what has started, in order
    health = Health()  # what the supervisors below keep; /readyz and /admin/health read it
    async with AsyncExitStack() as running:
        address = temporal.get("target_host")
        if address is None:  # no server configured: the embedded one, started again if it dies
            embedded = Supervisor("Temporal server", lambda: dev_server.start(
                settings.data_dir, temporal_port, temporal["namespace"]), health)
            try:
                await embedded.start()
            except dev_server.DevServerError as exc:
                fail(str(exc), 1)
            watching = asyncio.create_task(embedded.run(), name="temporal supervisor")

            async def stop_temporal() -> None:
                await embedded.shutdown()
                await watching

            running.push_async_callback(stop_temporal)
            address = embedded.part.address
            settings.temporal_ui_url = settings.temporal_ui_url or embedded.part.ui_url
        client = await connect_temporal(address, temporal["namespace"])
        app_ = create_app(settings, temporal=client, engine=engine)
        app_.state.health = health
        web = web_server(app_, listener.getsockname()[0], listener.getsockname()[1], settings.trusted_proxies)
        # The worker process (with the mail dispatcher), started again if it dies.
        worker = Supervisor("worker", lambda: WorkerProcess.start(settings, address, SHUTDOWN_GRACE), health)
        await worker.start()
        running.push_async_callback(worker.shutdown)

        def ready() -> None:
            if accounts:
                print_accounts(accounts)
            typer.echo("")
            typer.echo("Countersign is running. Ctrl-C stops it.")
            typer.echo(f"  Web app           {url}")
            typer.echo(f"  Temporal          {address} (namespace {client.namespace})")
            ui_url = settings.temporal_ui_url or "not configured (COUNTERSIGN_TEMPORAL_UI_URL)"
            typer.echo(f"  Temporal Web UI   {ui_url}")
            typer.echo(f"  Data              {settings.data_dir}")
            if not settings.smtp_url:
                typer.echo("  Mail              stays in the outbox table (COUNTERSIGN_SMTP_URL sends it)")
            typer.echo("")

        if stop.requested.is_set():  # signalled while Temporal was starting
            return 0
        return await serve(stop, web=web, listener=listener, worker=worker, on_ready=ready)


# Demo accounts: passwords are generated once and kept in the data dir (mode
# 0600), so a second `up --demo` prints the same working passwords instead of
# resetting them behind the back of someone signed in. The file is no more
# exposure than the data dir already is: it holds the session secret and the
# database.
# Names that read like people's, so the pages look as they will in use.
DEMO_REP_NAMES = ("Sam Rivera", "Uma Patel", "Wen Zhao", "Mia Lindqvist", "Bruno Martin", "Kofi Mensah",
                  "Greta Holm", "Hana Sato", "Luis Ortega", "Nadia Haddad")


def demo_accounts(engine: Engine, data_dir: Path, policy: Policy) -> list[tuple[str, str, str, str]]:
    """A lead, one rep for each of the policy's parties (two for the first, so delegation can be tried),
    compliance and an admin."""
    wanted = [("lead@example.com", Role.LEAD.value, "", "Lena Ortiz")]
    for i, key in enumerate(policy.parties):
        wanted.append((f"rep.{key}@example.com", Role.REP.value, key, DEMO_REP_NAMES[i % len(DEMO_REP_NAMES)]))
        if i == 0:
            wanted.append((f"deputy.{key}@example.com", Role.REP.value, key, "Dana Brooks"))
    wanted += [("compliance@example.com", Role.COMPLIANCE.value, "", "Cora Whitfield"),
               ("admin@example.com", Role.ADMIN.value, "", "Ade Okafor")]
    path = data_dir / DEMO_PASSWORDS_FILE
    saved: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    rows = []
    with transaction(engine) as session:
        for email, role, party, name in wanted:
            if session.exec(select(User).where(User.email == email)).first() is None:
                saved[email] = demo_password(email, name)
                create_user(session, email, role, saved[email], name=name, party=party or None,
                            parties=policy.parties)
            rows.append((email, role, party, saved.get(email, "(exists; password unchanged)")))
        # Written before the commit: no account is left without its password.
        _write_private(path, json.dumps(saved, indent=2) + "\n")
    return rows


def demo_password(email: str, name: str, draw: Callable[[], str] = lambda: secrets.token_urlsafe(12)) -> str:
    """A random password that the account's password checks take. A drawn one now and then holds a
    piece of the account's own address or name ("rep", "sam"), which they refuse."""
    while problem(password := draw(), email, name):
        pass
    return password


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    path.chmod(0o600)  # an older file may have had wider permissions


def print_accounts(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("email", "role", "party", "password")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    typer.echo("")
    typer.echo("Demo accounts (passwords kept in the data dir, " + DEMO_PASSWORDS_FILE + "):")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        typer.echo("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


# -- production parts ---------------------------------------------------------


@app.command()
def migrate() -> None:
    """Bring the database schema up to date.

    In production, run it once per release before the workers and web
    processes start; `up`, `users add` and `tokens create` migrate by themselves."""
    settings = load_settings()
    engine = migrated_engine(settings)
    log.info("database %s is up to date", engine.url.render_as_string(hide_password=True))
    engine.dispose()


@app.command()
def worker() -> None:
    """The worker alone, against the Temporal server configured (TEMPORAL_ADDRESS or a profile)."""
    settings = load_settings()
    address = require_temporal(settings, "worker")["target_host"]
    policy = load_checked_policy(settings)
    engine = make_engine(settings.db_url)
    mail = mail_dispatcher(settings, engine)

    async def run() -> int:
        stop = StopSignals()
        stop.install()
        client = await connect_temporal(address, settings.temporal_namespace)
        log.info("worker on task queue %r of %s (namespace %s)", settings.task_queue, address,
                 client.namespace)
        built = build_worker(client, engine, settings, policy)
        from workflows.checkpoint import ensure_schedule

        await ensure_schedule(client, settings.task_queue, timedelta(minutes=settings.checkpoint_every_minutes))
        from workflows import webhook_sweep

        await webhook_sweep.ensure_schedule(client, settings.task_queue)
        return await serve(stop, worker=built, mail=mail)

    try:
        code = run_service(run())
    finally:
        engine.dispose()
    raise typer.Exit(code)


@app.command()
def web(host: HostOption = DEFAULT_HOST, port: PortOption = DEFAULT_PORT) -> None:
    """The web app alone (JSON API and pages), against the Temporal server configured."""
    from api.app import create_app

    settings = load_settings()
    require_temporal(settings, "web")
    load_checked_policy(settings)
    listener = listen(host, port)
    engine = make_engine(settings.db_url)

    async def run() -> int:
        stop = StopSignals()
        stop.install()
        app_ = create_app(settings, engine=engine)  # connects to Temporal in its lifespan
        return await serve(stop, web=web_server(app_, host, listener.getsockname()[1], settings.trusted_proxies),
                           listener=listener)

    try:
        code = run_service(run())
    finally:
        listener.close()
        engine.dispose()
    raise typer.Exit(code)


# -- accounts -----------------------------------------------------------------


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Option("--email", help="Sign-in e-mail address.")],
    role: Annotated[str, typer.Option("--role", help="lead, rep, compliance, admin or party_admin (with --party).")],
    party: Annotated[str | None, typer.Option(
        "--party", help="For a rep: one of the policy's party keys.")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="Display name (default: from the e-mail).")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin.")] = False,
) -> None:
    """Create an account."""
    if not password_stdin:
        fail("give the password on stdin with --password-stdin (it never goes on the command line)")
    password = sys.stdin.readline().rstrip("\r\n")
    settings = load_settings()
    policy = load_checked_policy(settings)
    with quiet_migrations():
        engine = migrated_engine(settings)
    try:
        with transaction(engine) as session:
            user = create_user(session, email, role, password, name=name, party=party, parties=policy.parties)
            summary = f"created {user.role} {user.email}" + (f" for {user.party}" if user.party else "")
    except AccountError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(summary)


@tokens_app.command("create")
def tokens_create(email: Annotated[str, typer.Option("--email", help="Whose token.")],
                  days: Annotated[int | None, typer.Option(
                      "--days", min=1, max=1000, help="Expire after this many days (default: never).")] = None,
                  scope: Annotated[list[str] | None, typer.Option(
                      "--scope", help="'decide': the token may decide for a rep's party (docs/signatures.md); "
                                      "'grants:check': the token may call the grants check and nothing else.")] = None,
                  ) -> None:
    """Print a new API token for the account, alone on its line (shown once)."""
    settings = load_settings()
    with quiet_migrations():
        engine = migrated_engine(settings)
    try:
        with transaction(engine) as session:
            expires_at = datetime.now(UTC) + timedelta(days=days) if days else None
            token = create_token(session, email, expires_at=expires_at, scopes=scope or ())
    except AccountError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(token)


@tokens_app.command("list")
def tokens_list(email: Annotated[str | None, typer.Option(
        "--email", help="Whose tokens (default: every account's).")] = None) -> None:
    """List API tokens (never their secrets): id, owner, name, created, last used, revoked."""
    settings = load_settings()
    with quiet_migrations():
        engine = migrated_engine(settings)
    try:
        with transaction(engine) as session:
            owner_id = None
            if email:
                owner = session.exec(select(User).where(User.email == email.strip().lower())).first()
                if owner is None:
                    fail(f"no account for {email}")
                owner_id = owner.id
            rows = tokens_of(session, owner_id)
            lines = ["\t".join(("id", "owner", "name", "created", "last_used", "revoked", "expires"))]
            for token, user in rows:
                lines.append("\t".join((str(token.id), user.email, token.name or "-",
                                        *(_stamp(t) for t in (token.created_at, token.last_used_at,
                                                              token.revoked_at, token.expires_at)))))
    finally:
        engine.dispose()
    typer.echo("\n".join(lines))


def _stamp(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="The token's id (see `tokens list`).")]) -> None:
    """Revoke an API token: it stops working at once."""
    settings = load_settings()
    with quiet_migrations():
        engine = migrated_engine(settings)
    try:
        with transaction(engine) as session:
            row = revoke_token(session, token_id, None, via="cli", any_owner=True)
            owner = session.get(User, row.user_id)
            summary = f"revoked token {row.id} of {owner.email}"
    except NotFound as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(summary)


if __name__ == "__main__":
    main()
