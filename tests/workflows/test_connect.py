"""Connecting to Temporal through `temporalio.envconfig` (workflows.client.connect):
a profile in a TOML file, TEMPORAL_* variables over it, Countersign's settings over both."""

from __future__ import annotations

import os

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.service import TLSConfig

from workflows.client import TemporalConfigError, connect, connect_config


@pytest.fixture(autouse=True)
def no_temporal_environment(monkeypatch):
    """Only what a test sets: no TEMPORAL_* variable of the machine, no config file of its user."""
    for name in list(os.environ):
        if name.startswith("TEMPORAL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", "/nonexistent")


@pytest.fixture
def profile_file(tmp_path, monkeypatch):
    """Writes a TOML config file and names it in TEMPORAL_CONFIG_FILE."""
    def write(text: str):
        path = tmp_path / "temporal.toml"
        path.write_text(text)
        monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(path))
        return path
    return write


def test_a_profile_gives_address_namespace_client_certificate_and_api_key(tmp_path, profile_file, monkeypatch):
    (tmp_path / "client.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\ncert\n")
    (tmp_path / "client.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\nkey\n")
    profile_file(f"""
        [profile.default]
        address = "temporal.example.com:7233"
        namespace = "labels"
        api_key = "key-123"

        [profile.default.tls]
        client_cert_path = "{tmp_path / 'client.pem'}"
        client_key_path = "{tmp_path / 'client.key'}"
        server_name = "temporal.example.com"
    """)
    config = connect_config()
    assert config["target_host"] == "temporal.example.com:7233"
    assert config["namespace"] == "labels"
    assert config["api_key"] == "key-123"
    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == b"-----BEGIN CERTIFICATE-----\ncert\n"
    assert tls.client_private_key == b"-----BEGIN PRIVATE KEY-----\nkey\n"
    assert tls.domain == "temporal.example.com"

    monkeypatch.setenv("TEMPORAL_ADDRESS", "other.example.com:7233")  # the environment wins over the file
    assert connect_config()["target_host"] == "other.example.com:7233"
    assert connect_config()["api_key"] == "key-123"
    # Countersign's settings (they read `.env` too) win over both.
    assert connect_config("settings.example.com:7233", "ours")["target_host"] == "settings.example.com:7233"
    assert connect_config("settings.example.com:7233", "ours")["namespace"] == "ours"


def test_temporal_profile_picks_another_profile_of_the_file(profile_file, monkeypatch):
    profile_file("""
        [profile.default]
        address = "localhost:7233"

        [profile.cloud]
        address = "labels.a1b2c.tmprl.cloud:7233"
        namespace = "labels.a1b2c"
    """)
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    monkeypatch.setenv("TEMPORAL_API_KEY", "key-from-the-environment")
    config = connect_config()
    assert (config["target_host"], config["namespace"]) == ("labels.a1b2c.tmprl.cloud:7233", "labels.a1b2c")
    assert config["api_key"] == "key-from-the-environment"
    assert config["tls"] is True  # an API key turns TLS on


async def test_nothing_configured_is_no_server_and_the_default_namespace():
    assert connect_config() == {"namespace": "default"}
    with pytest.raises(TemporalConfigError, match="no Temporal server is configured: set TEMPORAL_ADDRESS"):
        await connect()


@pytest.mark.parametrize(("text", "message"), [
    (None, "TEMPORAL_CONFIG_FILE=.*: no such file"),
    ("[profile.default\n", "(?s)cannot be read: .*TOML parse error"),
    ('[profile.default]\naddress = "a:1"\n[profile.default.tls]\nclient_cert = "x"\n',
     "(?s)cannot be read: .*unknown field `client_cert`"),  # a misspelt key is refused, not left out
    ('[profile.default]\naddress = "a:1"\n[profile.default.tls]\nclient_cert_path = "/nonexistent/c.pem"\n',
     "(?s)cannot be read: .*No such file or directory: '/nonexistent/c.pem'"),
])
def test_settings_that_cannot_be_read_are_refused_with_the_reason(tmp_path, profile_file, monkeypatch, text,
                                                                  message):
    if text is None:
        monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "missing.toml"))
    else:
        profile_file(text)
    with pytest.raises(TemporalConfigError, match=message):
        connect_config()


async def test_connects_to_the_server_a_profile_file_names(temporal_env, profile_file):
    address = temporal_env.client.service_client.config.target_host
    profile_file(f'[profile.default]\naddress = "{address}"\nnamespace = "default"\n')
    client = await connect()
    assert client.service_client.config.target_host == address
    assert client.namespace == "default"
    assert (await client.workflow_service.get_system_info(GetSystemInfoRequest())).capabilities.signal_and_query_header
