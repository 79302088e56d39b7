"""Database engine, sessions and migrations (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, create_engine

# The execution option that marks a write transaction (`transaction`, `write_session`): an
# option on the session's connection, read by the SQLite engine's `begin` listener below, so
# one engine and one pool serve reads and writes. On SQLite a write transaction begins with
# BEGIN IMMEDIATE, which takes the database's write lock before it reads anything, so what it
# reads (a chain's last entry, a proposal's last step) stays true until it commits. Every
# other transaction begins deferred: reads never wait for a writer nor hold one up. SQLite
# cannot turn a transaction that has read into a writer once another has committed meanwhile
# (SQLITE_BUSY_SNAPSHOT), so whatever writes begins as a writer. PostgreSQL ignores the option.
WRITE_OPTION = "countersign_write"
WRITE = {WRITE_OPTION: True}


def make_engine(url: str, **pool) -> Engine:
    """`pool`: the connection pool's `pool_size` and `max_overflow`, where the
    defaults below do not fit (a test that runs the pool dry)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **(dict(pool_size=10, max_overflow=20) | pool))
    # No limit on connections: SQLite's are file handles, with no server to
    # protect, and a request that waits for a pooled connection can wait on
    # one that another request holds while it waits for a thread of the web
    # app's pool (FastAPI validates a sync route's answer in that pool before
    # the session closes): under enough concurrent requests, both wait out the
    # pool's timeout.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           **(dict(max_overflow=-1) | pool))

    # SQLAlchemy's recipe for SQLite transactions (its SQLite dialect's docs, "Using SQLAlchemy
    # to emit BEGIN in lieu of SQLite's transaction control"): pysqlite's own BEGIN, which it
    # emits only before a write, is off, and each transaction begins with ours (see WRITE).
    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        # WAL lets pages read while the worker writes; synchronous=FULL keeps
        # every committed decision across a power cut.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if is_write(connection) else "BEGIN")

    return engine


def is_write(connection: Connection) -> bool:
    """Whether `connection`'s transaction is a write one (WRITE)."""
    return bool(connection.get_execution_options().get(WRITE_OPTION))


# SQLite has one writer at a time. Writers that race for its lock wait in its
# busy handler, which sleeps in steps of up to 100 ms; queueing this process's
# writers on a lock of our own hands the database over as soon as it is free.
_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_sqlite_writers_guard = threading.Lock()


def _writer_lock(engine: Engine):
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _sqlite_writers_guard:
        return _sqlite_writers.setdefault(engine, threading.Lock())


def insert_new(bind: Engine | Connection, model, rows: dict | list[dict]):
    """An INSERT of `rows` that skips those whose key is stored already (ON CONFLICT DO NOTHING),
    on SQLite and PostgreSQL: for facts written once, which two writers may both write."""
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(model).values(rows).on_conflict_do_nothing()


def write_session(engine: Engine) -> Session:
    """A session whose every transaction is a write one (WRITE): for work that
    reads and then writes what it read implies, e.g. an audit entry."""
    return Session(engine, expire_on_commit=False, execution_options=WRITE)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work that writes: commits on success, rolls back on any error."""
    with _writer_lock(engine), write_session(engine) as session:
        with session.begin():
            yield session


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("countersign.storage") / "migrations"))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)
