"""Fixtures shared by the whole suite.

Every test that takes `database` (or anything built on it) runs twice: on SQLite and on
PostgreSQL. The PostgreSQL run uses a database created for this test session and dropped after.
When no PostgreSQL server answers, those runs are skipped with a clear reason, except under
CI=true, where a missing server fails them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, exists, literal, select, text, union_all
from sqlalchemy.exc import OperationalError

from plugboard.crypto.keyring import Keyring, generate_key
from plugboard.crypto.sealing import Sealer
from plugboard.domain.clock import ManualClock
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.store.tables import metadata
from plugboard.usecases.runtime import Runtime

PG_SERVER_URL = os.environ.get(
    "PLUGBOARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ("sqlite", "postgresql")

# `provider_server` (one test provider per session) and `provider` (reset for each test).
pytest_plugins = ["plugboard.testing.fixtures", "tests.stack"]

_pg_status: dict[str, str] = {}


def _pg_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    if "problem" not in _pg_status:
        try:
            engine = create_engine(PG_SERVER_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_status["problem"] = ""
        except OperationalError as exc:
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            _pg_status["problem"] = f"no PostgreSQL server at {PG_SERVER_URL}: {first}"
    return _pg_status["problem"] or None


def require_postgres() -> None:
    problem = _pg_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true and {problem}", pytrace=False)
        pytest.skip(problem)


def create_pg_database(prefix: str = "plugboard_test") -> str:
    """A new empty database on the test server; returns its URL."""
    require_postgres()
    name = f"{prefix}_{secrets.token_hex(4)}"
    engine = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_SERVER_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(autouse=True)
def _no_plugboard_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their own Settings: a developer's PLUGBOARD_* variables must not leak in."""
    for name in list(os.environ):
        if name.startswith("PLUGBOARD_") and not name.startswith("PLUGBOARD_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'plugboard.db'}"
    database = Database(url)
    database.upgrade()
    yield database
    database.dispose()


_WRITTEN_TABLES = union_all(
    *(
        select(literal(table.name).label("name")).where(exists(select(1).select_from(table)))
        for table in metadata.sorted_tables
    )
)


@pytest.fixture
def database(migrated_database: Database) -> Iterator[Database]:
    """A migrated, empty database; emptied again after the test."""
    yield migrated_database
    with migrated_database.engine.begin() as conn:
        # One query finds the tables the test wrote to (a few of the ~40), then only those
        # are emptied, children first.
        written = {row.name for row in conn.execute(_WRITTEN_TABLES)}
        for table in reversed(metadata.sorted_tables):
            if table.name in written:
                conn.execute(table.delete())


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(keys=(generate_key(),), source="test")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path, database: Database) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database.url)


@pytest.fixture
def runtime(
    settings: Settings, database: Database, keyring: Keyring, clock: ManualClock
) -> Runtime:
    return Runtime(settings=settings, database=database, sealer=Sealer(keyring), clock=clock)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Under pytest-xdist each worker reports its count to the controller, which prints.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["secret_scan_responses"] = _SCAN["responses"]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    _SCAN["responses"] += int(getattr(node, "workeroutput", {}).get("secret_scan_responses", 0))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _SCAN["responses"]:
        terminalreporter.write_line(
            f"Secret scan: {_SCAN['responses']} API response parts, none holding a stored secret",
            green=True,
        )
    if getattr(terminalreporter.config, "workerinput", None) is not None:
        return  # a pytest-xdist worker: the controller reports
    reports = [r for key in ("passed", "failed", "skipped", "error")
               for r in terminalreporter.stats.get(key, [])]  # fmt: skip
    if not any("postgresql" in getattr(r, "nodeid", "") for r in reports):
        return
    problem = _pg_problem()
    if problem:
        verdict = "FAILED (CI=true requires it)" if IN_CI else "SKIPPED"
        terminalreporter.write_line(f"PostgreSQL suite {verdict}: {problem}", yellow=True)
    else:
        terminalreporter.write_line(f"PostgreSQL suite ran against {PG_SERVER_URL}", green=True)


# -- every API response the suite produces is scanned for stored secrets ----------------------

_RESPONSES: list[tuple[str, bytes]] = []
_SCAN = {"responses": 0}


@pytest.fixture(scope="session", autouse=True)
def _record_plugboard_responses() -> Iterator[None]:
    """Record what every Plugboard app answers (status line headers and bodies). The mounted
    demo provider is the third party, not Plugboard, and is left out."""
    from starlette.applications import Starlette

    original = Starlette.__call__

    async def recording(self: Starlette, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not hasattr(self.state, "runtime")
            or path.startswith("/demo")
        ):
            return await original(self, scope, receive, send)

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = b"\n".join(k + b": " + v for k, v in message.get("headers", []))
                _RESPONSES.append((path, headers))
            elif message["type"] == "http.response.body":
                _RESPONSES.append((path, message.get("body", b"")))
            await send(message)

        return await original(self, scope, receive, capture)

    Starlette.__call__ = recording  # type: ignore[method-assign]
    yield
    Starlette.__call__ = original  # type: ignore[method-assign]


def _stored_secrets(runtime: Runtime) -> set[str]:
    import json

    from plugboard.crypto.sealing import seal_context
    from plugboard.errors import DecryptionFailed
    from plugboard.store.sealed import iter_sealed_values

    found: set[str] = set()
    # The secret fields of what is sealed (credentials, clients, flows); the rest (a type, a
    # scope, a user name) is not secret and may rightly appear in a response.
    secret_names = {
        "access_token", "refresh_token", "token", "token_secret", "password", "access_key",
        "secret_key", "session_token", "client_secret", "consumer_secret", "code_verifier",
        "request_token", "request_token_secret",
    }  # fmt: skip

    def leaves(value: Any, secret: bool = False) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                name = str(key).rsplit(".", 1)[-1]
                yield from leaves(item, secret or name in secret_names or name == "api_key")
        elif isinstance(value, str) and secret:
            yield value

    with runtime.database.transaction(write=False) as conn:
        for table, column, row_id, sealed in iter_sealed_values(conn):
            try:
                opened = runtime.sealer.open(sealed, seal_context(table, column, row_id))
            except DecryptionFailed:  # tests that move ciphertexts on purpose
                continue
            found.update(s for s in leaves(json.loads(opened)) if len(s) >= 8)
    return found


@pytest.fixture(autouse=True)
def _no_stored_secret_in_api_responses(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test with a store: no response recorded during it holds a stored secret."""
    if "runtime" not in request.fixturenames:
        yield
        return
    runtime: Runtime = request.getfixturevalue("runtime")  # set up first, torn down after us
    start = len(_RESPONSES)
    yield
    responses = _RESPONSES[start:]
    if not responses:
        return
    _SCAN["responses"] += len(responses)
    leaks = find_leaks(responses, _stored_secrets(runtime))
    assert not leaks, f"a stored secret appeared in responses of {sorted(set(leaks))}"


def find_leaks(responses: list[tuple[str, bytes]], secrets: set[str]) -> list[str]:
    """The paths whose recorded response holds one of `secrets`."""
    return [path for path, body in responses for s in secrets if s.encode() in body]
