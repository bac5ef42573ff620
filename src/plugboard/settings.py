"""Runtime settings, every one overridable by a `PLUGBOARD_*` environment variable.

Lives at the package root rather than in server/ because the CLI and the embedded SDK need the
same settings without importing the web stack.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLUGBOARD_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".plugboard",
        description="Folder for the key file, the embedded SQLite database and the demo "
        "provider's state (`serve --demo`).",
        json_schema_extra={"doc_default": "`~/.plugboard`"},
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; `postgresql://user@host/db` uses the psycopg "
        "driver.",
        json_schema_extra={"doc_default": "`sqlite:///$PLUGBOARD_HOME/plugboard.db`"},
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of the server, used to build OAuth callback URLs "
        "(`<base URL>/oauth/callback`).",
    )
    master_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated `key_id:base64key` AES-256 keys; the last one encrypts, "
        "all decrypt.",
        json_schema_extra={"doc_default": "unset: the key file `$PLUGBOARD_HOME/master.keys`"},
    )
    host: str = Field(default="127.0.0.1", description="Address `plugboard serve` binds to.")
    port: int = Field(default=8000, description="Port `plugboard serve` listens on.")
    log_level: str = Field(
        default="info", description="Log level of the server (`debug`, `info`, `warning` …)."
    )
    max_request_header_bytes: int = Field(
        default=32768,
        ge=1024,
        le=1048576,
        description="Largest request line plus headers `plugboard serve` reads; a bigger request "
        "is answered 431 and its connection closed.",
    )
    request_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="How long a client has to send a whole request line and headers, from its "
        "first byte (or from connecting); a slower one is answered 408 and disconnected.",
    )
    request_body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Longest pause while a client sends a request body; a longer one is "
        "answered 408 and disconnected.",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Comma-separated addresses of reverse proxies whose `X-Forwarded-For` and "
        "`X-Forwarded-Proto` are believed (the client address drives login throttling); `*` "
        "trusts every peer, which is right only behind a proxy that sets these headers itself.",
    )
    outbound_allowlist: str = Field(
        default="",
        description="Comma-separated hosts and CIDRs invoke may reach although they are "
        "loopback, private, link-local or metadata addresses (e.g. `127.0.0.1,10.0.0.0/8`).",
    )
    dns_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long the outbound guard reuses a host name's checked addresses before "
        "resolving it again (the system resolver tells no TTL; 0: resolve on every request). "
        "A request always connects to an address that was checked.",
    )
    auth_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long a server process reuses a checked API token. A token revoked "
        "through another process stops working within this time; 0 checks every request.",
    )
    session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="How long a console login lasts."
    )
    login_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed logins for one e-mail from one client address before each further "
        "attempt from that address must wait (see login_delay_seconds).",
    )
    login_delay_seconds: int = Field(
        default=1,
        ge=1,
        le=3600,
        description="The first wait after login_attempts failures; it doubles with each further "
        "failure from the same address, up to login_max_delay_seconds. Other addresses are not "
        "delayed, so an attacker cannot lock the owner out.",
    )
    login_max_delay_seconds: int = Field(
        default=300, ge=1, le=86400, description="The longest wait between failed logins."
    )
    login_window_seconds: int = Field(
        default=900,
        ge=1,
        description="Failed logins are forgotten after this long without a new failure.",
    )
    allow_http_hosts: str = Field(
        default="",
        description="Comma-separated hosts that service files may name over plain http and "
        "without a public domain: for development and tests only (e.g. a local test provider: "
        "`127.0.0.1,localhost`).",
    )
    invoke_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Timeout of an invoke when the call sets none."
    )
    invoke_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long an invoke reuses a resolved connection and credential before "
        "reading the store again (0: read it on every invoke). Bounds how long a revocation "
        "made by another process takes to stop invokes in this one.",
    )
    refresh_skew_seconds: float = Field(
        default=60.0, ge=0, le=3600, description="Refresh OAuth 2 tokens this long before expiry."
    )
    refresh_cooldown_seconds: float = Field(
        default=30.0,
        ge=0,
        le=86400,
        description="After a failed refresh, no new attempt for the same account for this long.",
    )
    token_request_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of a request to a token endpoint."
    )
    refresh_lock_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="How long a refresh waits for another process's refresh of the same account "
        "(must exceed the token request timeout).",
    )

    smtp_url: SecretStr | None = Field(
        default=None,
        description="Where notification e-mail is sent: `smtp://[user:password@]host[:port]` "
        "(STARTTLS when the server offers it), `smtps://…` (TLS from the start) or "
        "`smtp+plain://…` (never TLS: a local relay only). Unset: notifications stay in the "
        "console and the API.",
        json_schema_extra={"doc_default": "unset"},
    )
    smtp_from: str = Field(
        default="Plugboard <plugboard@localhost>",
        description="The From address of notification e-mail.",
    )
    jobs_in_serve: bool | None = Field(
        default=None,
        description="Whether `plugboard serve` runs the background jobs itself. Unset: yes on "
        "SQLite, no on PostgreSQL (run `plugboard worker` processes there).",
        json_schema_extra={"doc_default": "unset (SQLite: yes; PostgreSQL: no)"},
    )
    jobs_tick_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Period of the periodic jobs (proactive refresh, notifications, e-mail); "
        "under a minute it must divide 60, above it be whole minutes.",
    )
    job_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="In-process jobs (SQLite): a running job's claim, renewed while it runs; "
        "a job whose worker died is run again once its claim lapses.",
    )
    worker_stalled_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="PostgreSQL workers: a worker silent (no heartbeat) this long is presumed "
        "dead and its running jobs are run again.",
    )
    refresh_ahead_seconds: float = Field(
        default=1800.0,
        ge=0,
        le=86400,
        description="The proactive refresh renews OAuth 2 tokens that expire within this "
        "time, even when nobody uses them (tokens without an expiry: daily).",
    )
    refresh_batch: int = Field(
        default=50,
        ge=1,
        le=10000,
        description="At most this many proactive refreshes per tick, one after another: a "
        "thousand tokens expiring together are spread over the ticks before they expire.",
    )

    @field_validator("base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _lock_outlasts_token_request(self) -> Settings:
        if self.refresh_lock_timeout_seconds <= self.token_request_timeout_seconds:
            raise ValueError(
                "refresh_lock_timeout_seconds must be longer than token_request_timeout_seconds"
            )
        return self

    @model_validator(mode="after")
    def _login_delays_in_order(self) -> Settings:
        if not self.login_delay_seconds <= self.login_max_delay_seconds:
            raise ValueError("login_delay_seconds must not exceed login_max_delay_seconds")
        return self

    @model_validator(mode="after")
    def _tick_fits_a_schedule(self) -> Settings:
        tick = self.jobs_tick_seconds
        if not (60 % tick == 0 if tick < 60 else tick % 60 == 0):
            raise ValueError("jobs_tick_seconds must divide 60, or be a whole number of minutes")
        return self

    @property
    def allow_http_host_entries(self) -> list[str]:
        return [e.strip() for e in self.allow_http_hosts.split(",") if e.strip()]

    @property
    def outbound_allowlist_entries(self) -> list[str]:
        return [e.strip() for e in self.outbound_allowlist.split(",") if e.strip()]

    @property
    def key_file(self) -> Path:
        return self.home / "master.keys"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{self.home / 'plugboard.db'}"


def normalize_database_url(url: str) -> str:
    """Accept the URL forms people paste (`postgres://`, `postgresql://`) and pick our driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
