"""A fresh, empty database per test, for migrations: a temporary SQLite file,
or a PostgreSQL database of the test's own, created and dropped around it."""

from __future__ import annotations

import pytest

from countersign.storage.db import make_engine
from tests.postgres import fresh_database


@pytest.fixture
def empty_postgres_url():
    with fresh_database("countersign_migrations") as (url, _name):
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request, tmp_path):
    """An engine on a database with no tables at all, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        url = request.getfixturevalue("empty_postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()
