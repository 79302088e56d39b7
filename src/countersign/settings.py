"""Settings, from the environment and an optional `.env` file (API.md)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import argon2
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from countersign.certificate.signing import SigningKey

from countersign.domain.checkpoint import Signer, new_private_key_pem, private_key_pem

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev"}
# OWASP's smallest argon2id cost for passwords (19 MiB, 2 passes); below it is for tests only.
MIN_PRODUCTION_PASSWORD_COST = {"password_memory_cost": 19 * 1024, "password_time_cost": 2}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COUNTERSIGN_", env_file=".env", extra="ignore")

    environment: str = Field("development", pattern="^(development|production)$")
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: SQLite in the data dir
    policy: Path | None = None  # default: the shipped policy (DESIGN.md)
    secret_key: str | None = None  # signs sessions and e-mailed links
    smtp_url: str | None = None  # smtp://user:pass@host:port; unset: mail goes to the outbox table
    mail_from: str = "countersign@localhost"
    base_url: str = "http://127.0.0.1:8000"  # for links in e-mail
    task_queue: str = "countersign"
    trusted_proxies: str = "127.0.0.1"  # comma-separated addresses whose X-Forwarded-For is believed; "*" for all
    # Temporal: these two, when set, win over the connection profile of
    # `temporalio.envconfig` (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE, TLS, API
    # key; workflows.client.connect_config). Unset, the profile's apply.
    temporal_address: str | None = Field(
        None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "COUNTERSIGN_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str | None = Field(
        None, validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "COUNTERSIGN_TEMPORAL_NAMESPACE")
    )
    temporal_ui_url: str | None = None  # link proposals to their workflow in Temporal's Web UI
    # Request bodies above this are refused (413) before they are read or parsed;
    # multipart bodies (file uploads) have a limit of their own.
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    # argon2id's cost for password hashes; argon2's defaults (64 MiB, 3 passes, 4 lanes) take ~0.1 s.
    # A hash made at another cost is redone at its owner's next sign-in.
    password_memory_cost: int = Field(argon2.DEFAULT_MEMORY_COST, ge=8)  # KiB
    password_time_cost: int = Field(argon2.DEFAULT_TIME_COST, ge=1)
    password_parallelism: int = Field(argon2.DEFAULT_PARALLELISM, ge=1)
    # Signs checkpoints of the audit log: an Ed25519 private key, PEM or the base64 of its 32 raw bytes
    # (`countersign audit key --generate`). Required in production; in development one is kept in the data dir.
    checkpoint_key: str | None = None
    checkpoint_every_minutes: int = Field(60, ge=1)  # the checkpoint Schedule's interval
    # Sign certificate PDFs (PAdES): a PEM private key and its PEM X.509 certificate, issued by a CA the
    # organisations trust. Required in production; in development a self-signed pair is kept in the data dir.
    certificate_key: Path | None = None
    certificate_cert: Path | None = None
    # Webhook deliveries (docs/webhooks.md): attempts per delivery, the first wait and the longest
    # (each wait 4 times the last), each attempt's timeout; how long a rotated-out secret still signs.
    webhook_attempts: int = Field(8, ge=1, le=50)
    webhook_first_retry_seconds: float = Field(90.0, gt=0)
    webhook_max_retry_seconds: float = Field(8 * 3600.0, gt=0)
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=300)
    webhook_rotation_hours: float = Field(24.0, ge=0)

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and (self.secret_key or "").lower() in PLACEHOLDER_SECRETS:
            raise ValueError("COUNTERSIGN_SECRET_KEY must be set to a long random value in production")
        return self

    @model_validator(mode="after")
    def _check_password_cost(self) -> Settings:
        if self.password_memory_cost < 8 * self.password_parallelism:
            raise ValueError("COUNTERSIGN_PASSWORD_MEMORY_COST must be at least 8 KiB per lane "
                             "(COUNTERSIGN_PASSWORD_PARALLELISM)")
        if self.environment == "production":
            for name, least in MIN_PRODUCTION_PASSWORD_COST.items():
                if getattr(self, name) < least:
                    raise ValueError(f"COUNTERSIGN_{name.upper()} must be at least {least} in production")
        return self

    @cached_property
    def checkpoint_signer(self) -> Signer:
        """The configured checkpoint key; in development, one kept in the data dir."""
        if self.checkpoint_key:
            return Signer(private_key_pem(self.checkpoint_key))
        if self.environment == "production":
            raise ValueError("COUNTERSIGN_CHECKPOINT_KEY must be set in production "
                             "(`countersign audit key --generate` makes one)")
        path = self.data_dir / "checkpoint_key.pem"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)  # private before the key is in it
            path.write_text(new_private_key_pem())
        return Signer(path.read_text())

    @model_validator(mode="after")
    def _check_certificate_key(self) -> Settings:
        if (self.certificate_key is None) != (self.certificate_cert is None):
            raise ValueError("set both COUNTERSIGN_CERTIFICATE_KEY and COUNTERSIGN_CERTIFICATE_CERT, or neither")
        return self

    @cached_property
    def certificate_signing_key(self) -> SigningKey:
        """What signs certificate PDFs: the configured key, or in development a self-signed one in the data dir."""
        from countersign.certificate.signing import SigningKey, embedded_key  # pyHanko: only where PDFs are made
        if self.certificate_key and self.certificate_cert:
            return SigningKey(self.certificate_key, self.certificate_cert)
        if self.environment == "production":
            raise ValueError("COUNTERSIGN_CERTIFICATE_KEY and COUNTERSIGN_CERTIFICATE_CERT must be set in production "
                             "(docs/signatures.md)")
        return embedded_key(self.data_dir)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'countersign.sqlite3').resolve()}"

    @cached_property
    def session_secret(self) -> str:
        """The configured secret; in development, one kept in the data dir so
        sessions survive a restart without anyone having to set it."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
