"""The production deployment (docker-compose.yml, Dockerfile, deploy/), checked
by parsing: there is no container engine here to run it.

The names the app reads are derived from `countersign.settings.Settings`
itself, so a setting renamed in code and not in the compose file fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices, AliasPath

from countersign.settings import Settings
from workflows import search_attributes

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
APP_SERVICES = ("web", "worker", "migrate")
SCALED_SERVICES = ("web", "worker")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|PWD|TOKEN|(^|_)KEY($|_)", re.IGNORECASE)
# ${NAME:?message} or ${NAME?message}: required, no default to fall back on.
REQUIRED_INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
# temporalio's indexed value types, as `temporal operator search-attribute create --type` names them
CLI_TYPE = {
    "TEXT": "Text", "KEYWORD": "Keyword", "INT": "Int", "DOUBLE": "Double",
    "BOOL": "Bool", "DATETIME": "Datetime", "KEYWORD_LIST": "KeywordList",
}


# --------------------------------------------------------------------- helpers
def readable_env_names(settings_class: type = Settings) -> set[str]:
    """Every environment variable name `settings_class` reads, as pydantic-settings
    resolves them: a validation alias (or each of its AliasChoices) is read as is;
    any other field is read as env_prefix + field name."""
    config = settings_class.model_config
    prefix = config.get("env_prefix", "")
    names: set[str] = set()

    def add(alias) -> None:
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasPath):
            names.add(str(alias.path[0]))
        elif isinstance(alias, AliasChoices):
            for choice in alias.choices:
                add(choice)

    for field_name, field in settings_class.model_fields.items():
        alias = field.validation_alias or field.alias
        if alias is None:
            names.add(f"{prefix}{field_name}")
        else:
            add(alias)
    if not config.get("case_sensitive", False):
        names = {name.upper() for name in names}
    return names


def environment(service: dict) -> dict[str, str | None]:
    """A service's `environment`, in either of compose's two forms."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(key): (None if value is None else str(value)) for key, value in env.items()}
    pairs = (item.split("=", 1) for item in env)
    return {pair[0]: (pair[1] if len(pair) == 2 else None) for pair in pairs}


def interpolate(value: str, variables: dict[str, str], strict: bool = True) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, with `variables` as the
    .env file; a required variable missing from it is an error, as in compose
    (unless not `strict`: then it is left empty)."""

    def one(match: re.Match) -> str:
        name, operator, argument = match.groups()
        if variables.get(name):
            return variables[name]
        if operator in (":?", "?") and strict:
            raise KeyError(f"${{{name}}} is required: {argument}")
        return argument if operator in (":-", "-") else ""

    return INTERPOLATION.sub(one, value)


def image_tag(image: str) -> str | None:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def host_ports(service: dict) -> list[str]:
    """The host side of every published port (empty: Docker picks a free one)."""
    published = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published.append(str(entry.get("published") or ""))
            continue
        parts = interpolate(str(entry), {}, strict=False).split("/", 1)[0].split(":")
        published.append(parts[-2] if len(parts) >= 2 else "")
    return published


def mounted_files(service: dict) -> list[Path]:
    files = []
    for volume in service.get("volumes") or []:
        source = volume.get("source", "") if isinstance(volume, dict) else str(volume).split(":", 1)[0]
        if source.startswith("./"):
            files.append(ROOT / source[2:])
    return files


def script_of(service: dict) -> Path:
    """The deploy/ script a one-shot admin-tools service runs."""
    command = service.get("command") or []
    command = command.split() if isinstance(command, str) else command
    mounts = {}
    for volume in service.get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        mounts[target.rstrip("/")] = ROOT / source.removeprefix("./")
    for argument in command:
        for target, source in mounts.items():
            if argument.startswith(target + "/"):
                return source / argument[len(target) + 1:]
    raise AssertionError(f"no mounted script in command {command!r}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


# ------------------------------------------------- settings through environment
def test_readable_names_are_derived_from_the_settings_class():
    names = readable_env_names()
    assert {"COUNTERSIGN_DATABASE_URL", "COUNTERSIGN_SECRET_KEY", "COUNTERSIGN_ENVIRONMENT"} <= names
    assert {"TEMPORAL_ADDRESS", "COUNTERSIGN_TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"} <= names
    assert "DATABASE_URL" not in names  # the prefix applies to plain fields
    assert "COUNTERSIGN_TEMPORAL_UI" not in names


def policy_secret_names() -> set[str]:
    """The client secrets' variables the deployed policy names (api.oidc reads them)."""
    from countersign.domain.identity import providers
    from countersign.domain.policy import load_policy

    policy = load_policy(ROOT / "deploy" / "policy.toml")
    return {oidc.client_secret_env for oidc in providers(policy).values()}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_set_only_variables_the_app_reads(services, name):
    service = services[name]
    assert "env_file" not in service, f"{name}: every variable must be visible here, not in an env_file"
    unknown = set(environment(service)) - readable_env_names() - policy_secret_names()
    assert not unknown, f"{name} sets variables Countersign does not read: {sorted(unknown)}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_environment_makes_valid_production_settings(services, name, monkeypatch):
    env = environment(services[name])
    dot_env = {"COUNTERSIGN_SECRET_KEY": "k" * 64, "APP_DB_PASSWORD": "p" * 32,
               "COUNTERSIGN_BASE_URL": "https://countersign.example.com",
               "COUNTERSIGN_SMTP_URL": "smtp://mailer:pw@mail.example.com:587",
               "COUNTERSIGN_MAIL_FROM": "countersign@example.com",
               "COUNTERSIGN_CHECKPOINT_KEY": "A" * 43 + "="} | dict.fromkeys(policy_secret_names(), "s")
    for key in list(os.environ):
        if key.upper() in readable_env_names():
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, interpolate(value or "", dot_env))

    settings = Settings(_env_file=None)

    assert settings.environment == "production"
    assert settings.secret_key == dot_env["COUNTERSIGN_SECRET_KEY"]
    assert urlsplit(settings.db_url).scheme.startswith("postgresql")
    if name != "migrate":
        assert settings.temporal_address == "temporal:7233"
        assert settings.base_url == dot_env["COUNTERSIGN_BASE_URL"]
        assert settings.smtp_url == dot_env["COUNTERSIGN_SMTP_URL"]


def test_a_missing_secret_stops_compose(services):
    env = environment(services["web"])
    with pytest.raises(KeyError, match="COUNTERSIGN_SECRET_KEY"):
        interpolate(env["COUNTERSIGN_SECRET_KEY"], {})


# ------------------------------------------------------------- the services
def test_every_service_the_app_needs_is_there(services):
    for name in ("temporal", "temporal-ui", "temporal-setup", "migrate", "web", "worker"):
        assert name in services, f"missing service {name}"
    assert services["temporal"]["image"].split(":")[0] in ("temporalio/server", "temporalio/auto-setup")
    assert services["temporal-ui"]["image"].split(":")[0] == "temporalio/ui"
    assert services["migrate"]["command"] == ["countersign", "migrate"]
    assert services["worker"]["command"] == ["countersign", "worker"]
    assert services["web"]["command"][:2] == ["countersign", "web"]


def test_the_app_has_its_own_postgresql(services):
    url = interpolate(environment(services["web"])["COUNTERSIGN_DATABASE_URL"], {"APP_DB_PASSWORD": "x"})
    app_db = urlsplit(url).hostname
    assert app_db in services, f"the app's database host {app_db} is no service"
    assert re.fullmatch(r"postgres:16\.\d+.*", services[app_db]["image"]), services[app_db]["image"]
    temporal_db = environment(services["temporal"]).get("POSTGRES_SEEDS")
    assert temporal_db in services, "Temporal's PostgreSQL is no service"
    assert temporal_db != app_db, "the app and Temporal share one PostgreSQL server"


def test_temporal_schema_is_set_up_by_the_matching_admin_tools(services):
    temporal = services["temporal"]
    if temporal["image"].startswith("temporalio/auto-setup:"):
        return  # sets its own schema up
    schema_steps = [name for name, condition in depends_on(temporal).items()
                    if condition == "service_completed_successfully"]
    assert schema_steps, "the Temporal server does not wait for a schema step"
    for step in schema_steps:
        image = services[step]["image"]
        assert image.split(":")[0] == "temporalio/admin-tools"
        assert image_tag(image) == image_tag(temporal["image"]), "schema tool and server versions differ"
        script = script_of(services[step]).read_text()
        assert "setup-schema" in script and "update-schema" in script


def test_search_attributes_are_registered_on_the_apps_namespace(services):
    setup = services["temporal-setup"]
    assert setup["image"].split(":")[0] == "temporalio/admin-tools"
    script = script_of(setup).read_text()
    assert "temporal operator search-attribute create" in script
    for key in search_attributes.ALL:
        expected = f"{key.name}={CLI_TYPE[key.indexed_value_type.name]}"
        line = rf"^\s*{re.escape(expected)}\s*$"
        assert re.search(line, script, re.MULTILINE), f"{expected} not registered"
    assert environment(setup)["TEMPORAL_NAMESPACE"] == environment(services["web"])["TEMPORAL_NAMESPACE"]
    assert environment(setup)["TEMPORAL_NAMESPACE"] == environment(services["worker"])["TEMPORAL_NAMESPACE"]
    assert "already exists" in script  # a second `up` must not fail


def test_setup_scripts_are_valid_shell():
    scripts = sorted((ROOT / "deploy").rglob("*.sh"))
    assert scripts
    for script in scripts:
        result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script}: {result.stderr}"


def test_every_image_is_pinned_to_a_version(services):
    for name, service in services.items():
        if "build" in service and "image" not in service:
            continue
        image = service.get("image")
        assert image, f"{name} has neither image nor build"
        assert "$" not in image, f"{name}: image {image} is chosen at run time"
        tag = image_tag(image)
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: image {image} is not pinned"


def test_dockerfile_base_image_is_pinned():
    text = DOCKERFILE.read_text()
    stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, re.MULTILINE | re.IGNORECASE))
    bases = [image for image in re.findall(r"^FROM\s+(?:--\S+\s+)*(\S+)", text, re.MULTILINE | re.IGNORECASE)
             if image not in stages]
    assert bases
    for image in bases:
        tag = image_tag(image)
        assert tag and tag != "latest" and re.search(r"\d", tag), f"base image {image} is not pinned"
    assert any(re.fullmatch(r"python:3\.11\.\d+-slim.*", image) for image in bases), bases


def test_dockerfile_runs_the_web_app_as_an_unprivileged_user():
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    cmd = re.findall(r"^CMD\s+(.+)$", text, re.MULTILINE)[-1]
    assert yaml.safe_load(cmd) == ["countersign", "web", "--host", "0.0.0.0", "--port", "8000"]
    assert re.search(r"pip install[^\n]*\s'\.\[fast\]'(\s|$)", text), "the image does not install the package with its fast extra"


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", "data", ".env", "tests"} <= ignored


# -------------------------------------------------------------------- scaling
@pytest.mark.parametrize("name", SCALED_SERVICES)
def test_scaled_services_can_run_many_replicas(services, name):
    service = services[name]
    assert "container_name" not in service, f"{name}: a fixed container name stops --scale"
    assert "hostname" not in service, f"{name}: replicas would share one hostname"
    fixed = [port for port in host_ports(service) if port and "-" not in port]
    assert not fixed, f"{name} publishes fixed host ports {fixed}: a second replica would clash"


def test_a_proxy_spreads_requests_over_every_web_replica(services):
    web_port = str(services["web"]["expose"][0])
    proxies = [name for name, service in services.items()
               if name not in SCALED_SERVICES and any(host_ports(service))
               and any(re.search(rf"\bserver\s+web:{web_port}\b[^;]*\bresolve\b", path.read_text())
                       for path in mounted_files(service) if path.is_file())]
    assert proxies, "no published service balances over `web` with DNS re-resolution"


# ----------------------------------------------------------------- start order
@pytest.mark.parametrize("name", SCALED_SERVICES)
def test_web_and_worker_wait_for_migrations_and_temporal(services, name):
    deps = depends_on(services[name])
    assert deps.get("migrate") == "service_completed_successfully"
    assert deps.get("temporal") == "service_healthy"
    assert deps.get("temporal-setup") == "service_completed_successfully"


def test_migrate_waits_for_a_healthy_database(services):
    url = interpolate(environment(services["migrate"])["COUNTERSIGN_DATABASE_URL"], {"APP_DB_PASSWORD": "x"})
    assert depends_on(services["migrate"]).get(urlsplit(url).hostname) == "service_healthy"


def test_dependency_conditions_can_be_met(services):
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on unknown {target}"
            if condition == "service_healthy":
                check = services[target].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), f"{target} has no healthcheck ({name})"
            if condition == "service_completed_successfully":
                restart = str(services[target].get("restart", "no"))
                assert restart == "no" or restart.startswith("on-failure"), \
                    f"{target} restarts forever, so it never completes ({name})"


# -------------------------------------------------------------------- secrets
def test_no_literal_secret_values(compose, services):
    for name, service in services.items():
        for key, value in environment(service).items():
            value = value or ""
            if SECRET_NAME.search(key):
                assert REQUIRED_INTERPOLATION.match(value), \
                    f"{name}: {key} must be ${{VAR:?...}}, not a literal"
            if "://" in value:
                password = urlsplit(value).password
                if password is not None:
                    assert REQUIRED_INTERPOLATION.match(password), f"{name}: {key} carries a literal password"
        for variable, operator, _ in INTERPOLATION.findall(yaml.safe_dump(service, width=10**6)):
            if SECRET_NAME.search(variable):
                assert operator in (":?", "?"), f"{name}: secret ${{{variable}}} has a default"


def test_no_secret_in_the_image_or_the_example_env():
    instructions = re.sub(r"\\\n", " ", DOCKERFILE.read_text()).splitlines()  # continuation lines joined
    for line in instructions:
        if re.match(r"^\s*(ENV|ARG)\b", line):
            assert not SECRET_NAME.search(line), f"Dockerfile sets a secret: {line}"
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            if SECRET_NAME.search(key):
                assert value.strip() == "", f"env.example fills in {key}"


def test_databases_keep_their_data_in_named_volumes(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        if not str(service.get("image", "")).startswith("postgres:"):
            continue
        mounts = dict(str(volume).split(":")[:2] for volume in service.get("volumes") or [])
        source = {target: source for source, target in mounts.items()}.get("/var/lib/postgresql/data")
        assert source in declared, f"{name} keeps its data outside a named volume"


def test_each_organisations_provider_secret_comes_from_the_environment(services):
    names = policy_secret_names()
    assert len(names) == 6  # the platform and the five parties (deploy/policy.toml)
    for service in APP_SERVICES:
        env = environment(services[service])
        assert env["COUNTERSIGN_POLICY"] == "/etc/countersign/policy.toml"
        for name in names:
            assert REQUIRED_INTERPOLATION.match(env.get(name) or ""), f"{service}: {name}"
