"""Runtime settings, every one overridable by a `PLUGBOARD_*` environment variable.

Lives at the package root rather than in server/ because the CLI and the embedded SDK need the
same settings without importing the web stack.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLUGBOARD_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".plugboard",
        description="Folder for the key file and the embedded SQLite database.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<home>/plugboard.db. "
        "postgresql://user@host/db uses the psycopg driver.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of the server, used to build OAuth callback URLs.",
    )
    master_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated `key_id:base64key` AES-256 keys; the last one encrypts. "
        "Without it the key file <home>/master.keys is used.",
    )
    host: str = Field(default="127.0.0.1", description="Address `plugboard serve` binds to.")
    port: int = Field(default=8000, description="Port `plugboard serve` listens on.")
    log_level: str = Field(default="info", description="Log level of the server.")

    @field_validator("base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

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
