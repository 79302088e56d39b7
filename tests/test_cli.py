"""The command line (API.md): accounts and tokens on a fresh data dir, and
start-up refused with a one-line message and exit code 2."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api import cli
from countersign.domain import passwords
from countersign.domain.policy import load_policy
from countersign.storage import accounts
from countersign.storage.accounts import user_for_token
from countersign.storage.db import make_engine, transaction
from tests import factories

PASSWORD = "correct horse battery"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh data dir, and an environment that names nothing else but the tests' password cost."""
    for name in list(os.environ):
        if name.startswith("COUNTERSIGN_") or name.startswith("TEMPORAL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no Temporal config file of the machine's user
    for name, value in factories.CHEAP_PASSWORD_HASHING.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    path = tmp_path / "data"
    monkeypatch.setenv("COUNTERSIGN_DATA_DIR", str(path))
    return path


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli.app, list(args), input=input)

    return invoke


@pytest.fixture
def engine(data_dir):
    engine = make_engine(f"sqlite:///{data_dir / 'countersign.sqlite3'}")
    yield engine
    engine.dispose()


def test_users_add_and_tokens_create_on_a_fresh_data_dir(run, data_dir, engine):
    added = run("users", "add", "--email", "Rep.Sony@Example.com", "--role", "rep", "--party", "sony",
                "--name", "Sony Rep", "--password-stdin", input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "rep.sony@example.com" in added.stdout

    created = run("tokens", "create", "--email", "rep.sony@example.com")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert created.stdout == token + "\n"
    with transaction(engine) as session:
        user = user_for_token(session, token)
        assert (user.email, user.role, user.party) == ("rep.sony@example.com", "rep", "sony")
        assert user.name == "Sony Rep"
        assert accounts.authenticate(session, "rep.sony@example.com", PASSWORD) is not None

    # A token that may decide (docs/signatures.md): only a rep's, and only when asked for.
    deciding = run("tokens", "create", "--email", "rep.sony@example.com", "--scope", "decide")
    assert deciding.exit_code == 0, deciding.output
    with transaction(engine) as session:
        assert accounts.token_user(session, token)[0].scopes == []
        assert accounts.token_user(session, deciding.stdout.strip())[0].scopes == ["decide"]
    unknown = run("tokens", "create", "--email", "rep.sony@example.com", "--scope", "sign-everything")
    assert unknown.exit_code == 2 and "unknown token scope 'sign-everything'" in unknown.stderr


@pytest.mark.parametrize(
    "args, stdin, fragment",
    [
        (["--email", "x@example.com", "--role", "boss"], PASSWORD, "unknown role 'boss'"),
        (["--email", "x@example.com", "--role", "rep"], PASSWORD, "a rep needs --party"),
        (["--email", "x@example.com", "--role", "rep", "--party", "emi"], PASSWORD, "a rep needs --party"),
        (["--email", "x@example.com", "--role", "lead", "--party", "sony"], PASSWORD, "only reps and party admins belong"),
        (["--email", "x@example.com", "--role", "party_admin"], PASSWORD, "a party_admin needs --party"),
        (["--email", "x@example.com", "--role", "lead"], "short", "at least 10 characters"),
        (["--email", "not-an-address", "--role", "lead"], PASSWORD, "is not a valid e-mail address"),
        (["--email", "x@localhost", "--role", "lead"], PASSWORD, "is not a valid e-mail address"),
        (["--email", "x@example.com", "--role", "lead", "--name", "Eve\nBcc: x@example.com"], PASSWORD,
         "one line"),
        (["--email", "x@example.com", "--role", "lead", "--name", "<b>Eve</b>"], PASSWORD, "may not contain"),
    ],
)
def test_users_add_refuses_bad_details_with_one_line(run, data_dir, args, stdin, fragment):
    result = run("users", "add", *args, "--password-stdin", input=stdin + "\n")
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert result.stderr.startswith("countersign: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_users_add_takes_a_reps_party_from_the_policy_in_force(run, data_dir, monkeypatch):
    monkeypatch.setenv("COUNTERSIGN_POLICY", str(factories.THREE_LABELS))
    add = ("users", "add", "--email", "rep@example.com", "--role", "rep", "--password-stdin")
    refused = run(*add, "--party", "sony", input=PASSWORD + "\n")
    assert refused.exit_code == 2
    assert "one of the policy's parties: kobalt, bmg, concord" in refused.stderr
    added = run(*add, "--party", "bmg", input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert added.stdout == "created rep rep@example.com for bmg\n"


def test_users_add_refuses_a_second_account_for_one_address(run, data_dir):
    first = run("users", "add", "--email", "lead@example.com", "--role", "lead", "--password-stdin",
                input=PASSWORD + "\n")
    assert first.exit_code == 0, first.output
    again = run("users", "add", "--email", "lead@example.com", "--role", "admin", "--password-stdin",
                input=PASSWORD + "\n")
    assert again.exit_code == 2
    assert "exists already" in again.stderr


def test_users_add_wants_the_password_on_stdin(run, data_dir):
    result = run("users", "add", "--email", "lead@example.com", "--role", "lead")
    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr


def test_tokens_create_for_an_unknown_account(run, data_dir):
    result = run("tokens", "create", "--email", "nobody@example.com")
    assert result.exit_code == 2
    assert "no account for nobody@example.com" in result.stderr
    assert result.stdout == ""


def test_tokens_create_with_an_expiry_lists_it(run, data_dir):
    run("users", "add", "--email", "lead@example.com", "--role", "lead", "--password-stdin", input=PASSWORD + "\n")
    assert run("tokens", "create", "--email", "lead@example.com", "--days", "30").exit_code == 0
    assert run("tokens", "create", "--email", "lead@example.com", "--days", "0").exit_code == 2
    listed = run("tokens", "list").stdout.splitlines()
    assert listed[0].endswith("\texpires")
    assert listed[1].rsplit("\t", 1)[1] != "-"  # the day it expires


def test_tokens_create_limited_to_the_grants_check(run, data_dir, engine):
    added = run("users", "add", "--email", "runtime@example.com", "--role", "lead", "--password-stdin",
                input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    created = run("tokens", "create", "--email", "runtime@example.com", "--scope", "grants:check")
    assert created.exit_code == 0, created.output
    with transaction(engine) as session:
        token, _ = accounts.token_user(session, created.stdout.strip())
        assert token.scopes == ["grants:check"]
    refused = run("tokens", "create", "--email", "runtime@example.com", "--scope", "everything")
    assert refused.exit_code == 2 and "unknown token scope 'everything'" in refused.stderr


def test_token_alone_on_stdout_from_the_console_script(data_dir, engine):
    """Through `main()` as installed: logs go to stderr, the token alone to stdout."""
    env = {**os.environ, "COUNTERSIGN_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "api.cli"]
    add = ["users", "add", "--email", "lead@example.com", "--role", "lead", "--password-stdin"]
    subprocess.run([*command, *add], input=PASSWORD + "\n", text=True, env=env,
                   capture_output=True, check=True)
    created = subprocess.run([*command, "tokens", "create", "--email", "lead@example.com"],
                             text=True, env=env, capture_output=True, check=True)
    lines = created.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cs_")
    with transaction(engine) as session:
        assert user_for_token(session, lines[0]).email == "lead@example.com"


def test_up_refuses_a_bad_policy_file_naming_it(run, data_dir, tmp_path, monkeypatch):
    policy = tmp_path / "broken-policy.toml"
    policy.write_text("[[stages]\nname = 'Review'\n")
    monkeypatch.setenv("COUNTERSIGN_POLICY", str(policy))
    result = run("up", "--data-dir", str(data_dir))
    assert result.exit_code == 2
    assert str(policy) in result.stderr
    assert "Traceback" not in result.output
    assert not (data_dir / "temporal.sqlite3").exists()  # refused before anything started


def test_up_refuses_a_missing_policy_file(run, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("COUNTERSIGN_POLICY", str(tmp_path / "nowhere.toml"))
    result = run("up")
    assert result.exit_code == 2
    assert "nowhere.toml" in result.stderr


@pytest.mark.parametrize(
    "name, value, fragment",
    [
        ("COUNTERSIGN_ENVIRONMENT", "prod", "COUNTERSIGN_ENVIRONMENT='prod'"),
        ("COUNTERSIGN_ENVIRONMENT", "production", "COUNTERSIGN_SECRET_KEY must be set"),
    ],
)
def test_up_refuses_bad_settings(run, data_dir, monkeypatch, name, value, fragment):
    monkeypatch.setenv(name, value)
    result = run("up")
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert result.stderr.startswith("countersign: bad settings")


def test_up_refuses_a_web_port_temporal_needs(run, data_dir):
    result = run("up", "--port", "9233", "--temporal-port", "8233")
    assert result.exit_code == 2
    assert "--port 9233 is taken by Temporal" in result.stderr


@pytest.mark.parametrize("command", ["worker", "web"])
def test_production_parts_need_a_temporal_server(run, data_dir, command):
    result = run(command)
    assert result.exit_code == 2
    assert f"`countersign {command}` needs a Temporal server: set TEMPORAL_ADDRESS" in result.stderr


def test_the_worker_connects_to_the_server_of_the_temporal_profile(run, data_dir, tmp_path, monkeypatch):
    """Settings alone: the address comes from the config file (nothing listens there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    (tmp_path / "temporal.toml").write_text(f'[profile.default]\naddress = "{address}"\n')
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "temporal.toml"))
    result = run("worker")
    assert result.exit_code == 1
    assert f"cannot reach Temporal at {address}" in result.stderr


@pytest.mark.parametrize(("command", "variables", "fragment"), [
    ("worker", {"TEMPORAL_CONFIG_FILE": "missing.toml"}, "TEMPORAL_CONFIG_FILE=missing.toml: no such file"),
    ("web", {"TEMPORAL_ADDRESS": "a:1", "TEMPORAL_TLS_CLIENT_CERT_PATH": "missing.pem"},
     "the Temporal connection settings cannot be read"),
    ("up", {"TEMPORAL_API_KEY": "key"}, "TLS or an API key is configured but no address"),
])
def test_temporal_settings_that_cannot_work_stop_the_command(run, data_dir, monkeypatch, command, variables,
                                                             fragment):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    result = run(command)
    assert result.exit_code == 2
    assert fragment in result.stderr


def test_migrate_brings_a_fresh_database_to_head(run, data_dir, engine):
    result = run("migrate")
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def test_demo_accounts_keep_their_passwords_on_a_second_run(data_dir, engine, monkeypatch):
    cli.migrated_engine(cli.load_settings()).dispose()
    with transaction(engine) as session:
        accounts.create_user(session, "admin@example.com", "admin", PASSWORD)

    policy = load_policy()
    first = cli.demo_accounts(engine, data_dir, policy)
    second = cli.demo_accounts(engine, data_dir, policy)

    assert first == second
    emails = [row[0] for row in first]
    first_party = next(iter(policy.parties))
    reps = [f"rep.{p}@example.com" for p in policy.parties]
    assert emails == ["lead@example.com", reps[0], f"deputy.{first_party}@example.com", *reps[1:],
                      "compliance@example.com", "admin@example.com"]
    by_email = {row[0]: row for row in first}
    assert by_email["rep.merlin@example.com"][1:3] == ("rep", "merlin")
    assert by_email["admin@example.com"][3] == "(exists; password unchanged)"
    assert len(by_email["lead@example.com"][3]) >= accounts.MIN_PASSWORD_LENGTH
    saved = data_dir / cli.DEMO_PASSWORDS_FILE
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_a_demo_password_is_one_the_password_checks_take():
    """A random draw holding a piece of the account's own address or name is drawn again."""
    drawn = iter(["xQrep9sonyZZ41kd", "Qk-RiVeRa7w2LmN0", "tR8vWq3zHn5bKy2p"])
    password = cli.demo_password("rep.sony@example.com", "Sam Rivera", draw=lambda: next(drawn))
    assert password == "tR8vWq3zHn5bKy2p"
    assert passwords.problem("xQrep9sonyZZ41kd", "rep.sony@example.com", "Sam Rivera")  # why the first went
    assert passwords.problem("Qk-RiVeRa7w2LmN0", "rep.sony@example.com", "Sam Rivera")
    assert passwords.problem(password, "rep.sony@example.com", "Sam Rivera") is None


@pytest.mark.parametrize("installed", [True, False])
def test_services_run_on_uvloop_when_it_is_installed_else_on_asyncio(installed, monkeypatch):
    if not installed:
        monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` fails as when it is not installed

    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert cli.run_service(loop_module()) == ("uvloop" if installed else "asyncio.unix_events")
