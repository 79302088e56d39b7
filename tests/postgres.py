"""Databases of a test's own on the local PostgreSQL (COUNTERSIGN_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy

POSTGRES_URL = os.environ.get("COUNTERSIGN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def admin_engine() -> sqlalchemy.Engine:
    """The server's maintenance connection, outside transactions (CREATE DATABASE needs that)."""
    return sqlalchemy.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"),
                                    isolation_level="AUTOCOMMIT")


@contextmanager
def fresh_database(prefix: str) -> Iterator[tuple[str, str]]:
    """(url, name) of a new, empty database, dropped afterwards; a skip when
    no PostgreSQL answers."""
    admin = admin_engine()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sqlalchemy.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL answers at {POSTGRES_URL}: {exc.orig}")
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}", name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")  # a test may have closed it
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
