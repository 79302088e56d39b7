"""The password hashing cost, a setting: argon2's defaults unless set, a cheap
one refused in production, and what is set is what the app and the CLI hash at."""

from __future__ import annotations

import argon2
import pytest
from pydantic import ValidationError
from sqlmodel import Session, select
from typer.testing import CliRunner

from api import cli
from api.app import create_app
from countersign.settings import Settings
from countersign.storage import accounts
from countersign.storage.db import make_engine, transaction
from countersign.storage.tables import User
from tests import factories

SECRET = "k" * 64


@pytest.fixture(autouse=True)
def _session_cost_afterwards():
    """The session's cost again after each test (set up first, so torn down after monkeypatch)."""
    yield
    accounts.use_password_cost(Settings(_env_file=None))


@pytest.fixture
def no_password_cost(monkeypatch):
    """An environment without the tests' cheap cost."""
    for name in factories.CHEAP_PASSWORD_HASHING:
        monkeypatch.delenv(name)


def cost_of(password_hash: str) -> str:
    return password_hash.split("$")[3]  # $argon2id$v=19$m=...,t=...,p=...$salt$digest


def test_the_default_cost_is_argon2s_and_production_takes_it(no_password_cost):
    settings = Settings(_env_file=None, environment="production", secret_key=SECRET)
    assert (settings.password_memory_cost, settings.password_time_cost, settings.password_parallelism) == (
        argon2.DEFAULT_MEMORY_COST, argon2.DEFAULT_TIME_COST, argon2.DEFAULT_PARALLELISM)


@pytest.mark.parametrize("name, value, least", [("password_memory_cost", 1024, 19 * 1024),
                                                ("password_time_cost", 1, 2)])
def test_production_refuses_a_cheap_cost(no_password_cost, name, value, least):
    with pytest.raises(ValidationError, match=f"COUNTERSIGN_{name.upper()} must be at least {least} in production"):
        Settings(_env_file=None, environment="production", secret_key=SECRET, **{name: value})
    assert getattr(Settings(_env_file=None, **{name: value}), name) == value  # development takes it


def test_the_cli_refuses_the_tests_cost_in_production(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("COUNTERSIGN_ENVIRONMENT", "production")
    monkeypatch.setenv("COUNTERSIGN_SECRET_KEY", SECRET)
    result = CliRunner().invoke(cli.app, ["migrate"])
    assert result.exit_code == 2
    assert result.stderr.startswith("countersign: bad settings: COUNTERSIGN_PASSWORD_MEMORY_COST must be at least")


def test_memory_is_at_least_8_kib_a_lane():
    with pytest.raises(ValidationError, match="at least 8 KiB per lane"):
        Settings(_env_file=None, password_memory_cost=16, password_parallelism=4)


def test_the_cli_hashes_at_the_cost_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COUNTERSIGN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COUNTERSIGN_PASSWORD_MEMORY_COST", "16")
    monkeypatch.setenv("COUNTERSIGN_PASSWORD_TIME_COST", "2")
    monkeypatch.setenv("COUNTERSIGN_PASSWORD_PARALLELISM", "2")
    added = CliRunner().invoke(cli.app, ["users", "add", "--email", "lead@example.com", "--role", "lead",
                                         "--password-stdin"], input=factories.PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'countersign.sqlite3'}")
    with Session(engine) as session:
        assert cost_of(session.exec(select(User.password_hash)).one()) == "m=16,t=2,p=2"
    engine.dispose()


def test_the_app_hashes_at_its_cost_and_redoes_an_older_hash_at_sign_in(engine, tmp_path):
    user = factories.user(engine, "lead")
    assert cost_of(user.password_hash) == "m=8,t=1,p=1"  # the tests' cost
    create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET, policy=factories.ONE_STAGE,
                        password_memory_cost=16, password_time_cost=2, password_parallelism=1))
    with transaction(engine) as session:
        assert accounts.authenticate(session, user.email, factories.PASSWORD) is not None
        assert accounts.authenticate(session, user.email, "wrong password") is None
    with Session(engine) as session:
        assert cost_of(session.get(User, user.id).password_hash) == "m=16,t=2,p=1"
