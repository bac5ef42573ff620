"""Engines, transactions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from plugboard.errors import StoreUnavailable
from plugboard.settings import normalize_database_url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts the database; a power cut may lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions are off).
        event.listen(engine, "connect", lambda c, _r: setattr(c, "isolation_level", None))
        event.listen(engine, "begin", _emit_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _emit_begin(conn: Connection) -> None:
    mode = conn.info.pop("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


@dataclass(frozen=True, slots=True)
class DatabaseState:
    reachable: bool
    backend: str
    revision: str | None
    head: str
    error: str | None = None

    @property
    def up_to_date(self) -> bool:
        return self.reachable and self.revision == self.head


class Database:
    """One engine and the way to run a unit of work on it."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = normalize_database_url(url)
        self.engine = engine or make_engine(self.url)
        self._head: str | None = None

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any exception.

        On SQLite a write transaction starts with BEGIN IMMEDIATE so that it holds the database's
        write lock from its first read; that is what serializes refreshes on the embedded store.
        """
        try:
            conn = self.engine.connect()
        except OperationalError as exc:
            raise StoreUnavailable(
                f"cannot reach the {self.backend} database: {_brief(exc)}"
            ) from None
        with conn:
            if self.backend == "sqlite":
                conn.info["sqlite_begin"] = "IMMEDIATE" if write else "DEFERRED"
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    # -- migrations -------------------------------------------------------------------------

    def alembic_config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(migrations_path()))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        config.attributes["connection"] = connection
        return config

    def upgrade(self, revision: str = "head") -> None:
        with self.engine.begin() as conn:
            command.upgrade(self.alembic_config(conn), revision)

    def downgrade(self, revision: str = "base") -> None:
        with self.engine.begin() as conn:
            command.downgrade(self.alembic_config(conn), revision)

    def head_revision(self) -> str:
        """The newest migration; read once (parsing the scripts costs milliseconds)."""
        if self._head is None:
            head = ScriptDirectory.from_config(self.alembic_config()).get_current_head()
            assert head is not None
            self._head = head
        return self._head

    def state(self) -> DatabaseState:
        head = self.head_revision()
        try:
            with self.engine.connect() as conn:
                revision = MigrationContext.configure(conn).get_current_revision()
        except OperationalError as exc:
            return DatabaseState(False, self.backend, None, head, _brief(exc))
        return DatabaseState(True, self.backend, revision, head)


def migrations_path() -> Path:
    return Path(str(resources.files("plugboard.store") / "migrations"))


def _brief(exc: BaseException) -> str:
    """The first line of a driver error, without the URL (which may hold a password)."""
    text = str(getattr(exc, "orig", exc)).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
