"""Listings at scale (`make bench-scale`; not part of `make bench`: it takes minutes).

For each size N (default 10,000 and 100,000; `--sizes 10000,100000,1000000` for the full run) a
PostgreSQL database is filled with N user-level authorizations: about sqrt(N) users each
authorized on about sqrt(N) connections, every credential sealed by the store's own sealing
(bulk inserts), one app granted to every user with a component using ten of the connections,
and N/10 audit entries (COPY for the bulk rows). The fill time is printed. Then, through the REST
API served in this process, each call is timed `--repeat` times, round-robin over the sizes and
the calls (a burst of load on the machine falls on every figure alike), and its p50 printed
with its growth factor against the first size:

- a page of `GET /connections` (50, as the super admin), in process and over HTTP (uvicorn);
- a user's page of authorizations (`GET /connections/{link}/authorizations`, as that user);
- the super admin's first and second page of the same list (50);
- connection details (`GET /connections/{link}`) as the super admin and as a user;
- a connection's references, the services list, an app's users and its connections panel;
- a page of the audit log;
- revoking one authorization (a different user each time);
- `plugboard connections list --json` against the served REST API (in process, the real CLI):
  the time until its first page is written, and until the whole list is.

`--database NAME` keeps each size's filled database as NAME_<size> (and its key, beside it in the
temp directory) and uses it again on the next run with the same name: fill 1M once, measure many
times.

Needs PostgreSQL at PLUGBOARD_TEST_POSTGRES_URL (default 127.0.0.1:5432, user postgres); says
so and exits 0 when none answers. Prints the load average: on a busy machine every figure grows.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import free_port, percentile
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from plugboard.crypto.keyring import Keyring, MasterKey, generate_key
from plugboard.crypto.sealing import Sealer
from plugboard.domain.credentials import ApiKeyCredential, credential_to_data
from plugboard.domain.ids import new_id
from plugboard.domain.models import ALL_ENVIRONMENTS, ConnectionLevel, Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.server.app import create_app
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.store.sealed import seal_json
from plugboard.store.tables import (
    accounts,
    app_users,
    audit_events,
    authorizations,
    memberships,
    users,
)
from plugboard.usecases import identity
from plugboard.usecases.apps import create_app as create_plugboard_app
from plugboard.usecases.apps import put_component
from plugboard.usecases.connections import create_connection
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service

PG_SERVER = os.environ.get(
    "PLUGBOARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
WORKSPACE = "scale"
APP = "scaleapp"
BATCH = 20_000
SERVICE = """
name: Scale key service
link_name: skey
base_url: https://api.scalebench.net
auth_type: api_key
allow_user_level: true
api_key:
  parameters:
    - {param_type: header, name: X-Api-Key, display_name: API key}
"""
CALLS = (
    "connections page",
    "connections page (HTTP)",
    "user's authorizations",
    "admin's authorizations",
    "admin's authz page 2",
    "details (admin)",
    "details (user)",
    "references",
    "services list",
    "app users",
    "app panel (user)",
    "audit page",
    "revoke",
    "CLI list: first page",
    "CLI list: all",
)


@contextmanager
def database(keep: str | None) -> Iterator[tuple[str, bool]]:
    """(url, whether it is filled already): a fresh database dropped afterwards, or the kept
    one named ``keep`` (created when missing)."""
    name = keep or f"plugboard_scale_{secrets.token_hex(4)}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        yield url, bool(exists)
    finally:
        if keep is None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def runtime_for(url: str, home: Path, key_file: Path) -> Runtime:
    """A runtime on ``url`` whose master key is kept in ``key_file`` (so a kept database's
    sealed credentials stay readable on the next run)."""
    if key_file.exists():
        key = MasterKey(id="k1", material=bytes.fromhex(key_file.read_text()))
    else:
        key = generate_key()
        key_file.write_text(key.material.hex())
    db = Database(url)
    db.upgrade()
    settings = Settings(home=home, database_url=url, outbound_allowlist="127.0.0.1")
    return Runtime(
        settings=settings, database=db, sealer=Sealer(Keyring(keys=(key,), source="bench"))
    )


def _email(i: int) -> str:
    return f"u{i:07d}@scale.test"


def _copy(conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows written with PostgreSQL's COPY on the unit's own connection (its transaction): the
    values are the table's stored ones already (the credential sealed by the store's sealing),
    so nothing is lost skipping SQLAlchemy's statement; about ten times a multi-row INSERT."""
    columns = list(rows[0])
    raw = conn.connection.driver_connection
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def fill(runtime: Runtime, size: int) -> None:
    """About ``size`` authorizations (see the module's doc). User 0 is the super admin (and
    the primary of every connection)."""
    n_connections = max(1, math.isqrt(size))
    n_users = max(2, size // n_connections)
    now = datetime.now(UTC)
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, WORKSPACE, WorkspaceKind.DEVELOPER)
        workspace_id = unit.workspaces.get(WORKSPACE).id
        ids = [new_id("usr") for _ in range(n_users)]
        unit.conn.execute(
            users.insert(),
            [{"id": u, "email": _email(i), "name": f"User {i}", "created_at": now}
             for i, u in enumerate(ids)],
        )  # fmt: skip
        unit.conn.execute(
            memberships.insert(),
            [{"workspace_id": workspace_id, "user_id": u, "created_at": now,
              "role": (Role.SUPER_ADMIN if i == 0 else Role.USER).value}
             for i, u in enumerate(ids)],
        )  # fmt: skip
        root = identity.principal_for(unit, _email(0), WORKSPACE, via="bench")
        create_custom_service(unit, root, SERVICE)
        links = [f"c{c:05d}" for c in range(n_connections)]
        connection_ids = [
            create_connection(unit, root, service="skey", link_name=link,
                              level=ConnectionLevel.USER).id
            for link in links
        ]  # fmt: skip
        app = create_plugboard_app(unit, root, name="Scale app", link_name=APP)
        put_component(unit, root, APP, kind="function", name="uses",
                      connections=links[len(links) // 2: len(links) // 2 + 10])  # fmt: skip
        unit.conn.execute(
            app_users.insert(),
            [{"app_id": app.id, "user_id": u, "workspace_id": workspace_id,
              "granted_by": ids[0], "created_at": now} for u in ids],
        )  # fmt: skip
    credential = credential_to_data(ApiKeyCredential({"X-Api-Key": "scale-key"}))
    sealer = runtime.sealer
    pending: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])

    def flush() -> None:
        with runtime.unit() as unit:
            _copy(unit.conn, accounts.name, pending[0])
            _copy(unit.conn, authorizations.name, pending[1])
        pending[0].clear()
        pending[1].clear()

    for connection_id in connection_ids:
        for i, user_id in enumerate(ids):
            account_id = new_id("acc")
            pending[0].append({
                "id": account_id, "workspace_id": workspace_id, "connection_id": connection_id,
                "owner_user_id": user_id, "display_name": _email(i), "created_by": user_id,
                "credential_sealed": seal_json(
                    sealer, accounts, "credential_sealed", account_id, credential
                ),
                "created_at": now, "updated_at": now,
            })  # fmt: skip
            pending[1].append({
                "id": new_id("authz"), "workspace_id": workspace_id,
                "connection_id": connection_id, "environment": ALL_ENVIRONMENTS,
                "owner_user_id": user_id, "account_id": account_id, "status": "connected",
                "is_primary": i == 0, "authorized_by": user_id, "created_at": now,
                "updated_at": now,
            })  # fmt: skip
            if len(pending[0]) >= BATCH:
                flush()
    if pending[0]:
        flush()
    entries = [
        {"id": new_id("aud"), "workspace_id": workspace_id, "actor": _email(i % n_users),
         "action": "authorization.create", "object_type": "authorization", "object_id": None,
         "outcome": "ok", "detail": {}, "created_at": now - timedelta(seconds=i)}
        for i in range(size // 10)
    ]  # fmt: skip
    for start in range(0, len(entries), BATCH):
        with runtime.unit() as unit:
            unit.conn.execute(audit_events.insert(), entries[start : start + BATCH])
    with runtime.database.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()  # statistics are transactional: rolled back with the connection otherwise


def _timed(call: Callable[[], Any]) -> Callable[[], float]:
    """One timing of ``call`` (a REST answer, which must be 200), in seconds."""

    def once() -> float:
        started = time.perf_counter()
        answer = call()
        elapsed = time.perf_counter() - started
        assert answer.status_code == 200, answer.text
        return elapsed

    return once


class _FirstWrite(io.StringIO):
    """Standard output that notes when the first connection was written."""

    def __init__(self) -> None:
        super().__init__()
        self.first: float | None = None

    def write(self, s: str) -> int:
        if self.first is None and "link_name" in s:
            self.first = time.perf_counter()
        return super().write(s)


def _cli_list(base_url: str, token: str) -> Callable[[], tuple[float, float]]:
    """One run of `plugboard connections list --json` against the served REST API, in this
    process: (first page written, whole list written) in seconds. Typer builds its command tree
    once, as a process does at start-up (about 60 ms for every command of the CLI): not
    counted."""
    import typer

    from plugboard.cli.main import app as cli

    command = typer.main.get_command(cli)
    args = ["--server", base_url, "--token", token, "connections", "list", "--json"]

    def once() -> tuple[float, float]:
        sink = _FirstWrite()
        started = time.perf_counter()
        with redirect_stdout(sink):
            try:
                command.main(args, standalone_mode=False)
            except SystemExit as exc:
                assert not exc.code, exc
        ended = time.perf_counter()
        assert sink.first is not None, sink.getvalue()[:500]
        return sink.first - started, ended - started

    return once


@contextmanager
def served(runtime: Runtime) -> Iterator[str]:
    """The REST API under uvicorn on a loopback port, in a thread of this process."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def prepare(
    runtime: Runtime, repeat: int, stack: ExitStack
) -> tuple[dict[str, Callable[[], float]], Callable[[], tuple[float, float]]]:
    """Each call's single timing on this store, and the CLI's; the clients and the served API
    stay open on ``stack``."""
    import httpx2

    with runtime.unit() as unit:
        ws = unit.workspaces.get(WORKSPACE)
        links = sorted(c.link_name for c in unit.connections.of_workspace(ws.id))

        def token(i: int) -> str:
            actor = identity.principal_for(unit, _email(i), WORKSPACE, via="bench")
            return identity.create_token(unit, actor, name="bench").secret

        root = token(0)
        reader = token(1)
        link = links[len(links) // 2]
        # Users still connected on the link (a kept database was revoked from by earlier runs).
        still = unit.conn.execute(
            text(
                "SELECT u.email FROM authorizations a JOIN users u ON u.id = a.owner_user_id"
                " JOIN connections c ON c.id = a.connection_id WHERE c.link_name = :link"
                " AND a.status = 'connected' AND u.email NOT IN (:root, :reader)"
                " ORDER BY u.email DESC LIMIT :n"
            ),
            {"link": link, "root": _email(0), "reader": _email(1), "n": repeat + 1},
        ).scalars()
        revokers = iter([token(int(email[1:8])) for email in still])
    client = stack.enter_context(
        TestClient(create_app(runtime=runtime), base_url="http://127.0.0.1")
    )

    def get(path: str, secret: str, **params: Any) -> Any:
        return client.get(f"/api/v1{path}", params=params,
                          headers={"Authorization": f"Bearer {secret}"})  # fmt: skip

    def revoke() -> Any:
        return client.post(f"/api/v1/connections/{link}/authorizations/revoke", json={},
                           headers={"Authorization": f"Bearer {next(revokers)}"})  # fmt: skip

    for warm in (root, reader):
        get("/connections", warm, limit=50)
    second = get(f"/connections/{link}/authorizations", root, limit=50).json()["next_cursor"]
    base_url = stack.enter_context(served(runtime))
    http = stack.enter_context(httpx2.Client(base_url=base_url))
    headers = {"Authorization": f"Bearer {root}"}
    http.get("/api/v1/connections", headers=headers)
    calls = {
        "connections page": _timed(lambda: get("/connections", root, limit=50)),
        "connections page (HTTP)": _timed(
            lambda: http.get("/api/v1/connections", params={"limit": 50}, headers=headers)
        ),
        "user's authorizations": _timed(lambda: get(f"/connections/{link}/authorizations", reader)),
        "admin's authorizations": _timed(
            lambda: get(f"/connections/{link}/authorizations", root, limit=50)
        ),
        "admin's authz page 2": _timed(
            lambda: get(f"/connections/{link}/authorizations", root, limit=50, cursor=second)
        ),
        "details (admin)": _timed(lambda: get(f"/connections/{link}", root)),
        "details (user)": _timed(lambda: get(f"/connections/{link}", reader)),
        "references": _timed(lambda: get(f"/connections/{link}/references", root)),
        "services list": _timed(lambda: get("/services", root)),
        "app users": _timed(lambda: get(f"/apps/{APP}/users", root)),
        "app panel (user)": _timed(lambda: get(f"/apps/{APP}/panel", reader)),
        "audit page": _timed(lambda: get("/audit", root)),
        "revoke": _timed(revoke),
    }
    return calls, _cli_list(base_url, root)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=30, help="calls timed per figure")
    parser.add_argument("--database", help="keep each size's filled database as NAME_<size> "
                        "and reuse it next time")  # fmt: skip
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    try:
        with create_engine(PG_SERVER, connect_args={"connect_timeout": 3}).connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        print(f"skipped: no PostgreSQL at {PG_SERVER} ({str(exc.orig).strip().splitlines()[0]})")
        return 0
    print(f"load average before: {_load()} ({os.cpu_count()} cores)", flush=True)
    times: dict[int, dict[str, list[float]]] = {s: {c: [] for c in CALLS} for s in sizes}
    with ExitStack() as stack:
        prepared = {}
        for size in sizes:
            name = f"{args.database}_{size}" if args.database else None
            url, filled = stack.enter_context(database(name))
            home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            key_file = Path(tempfile.gettempdir()) / f"{name}.key" if name else home / "key"
            runtime = runtime_for(url, home, key_file)
            stack.callback(runtime.database.dispose)
            if filled:
                print(f"{size:>9,} authorizations: reusing database {name}", flush=True)
            else:
                started = time.perf_counter()
                fill(runtime, size)
                print(f"{size:>9,} authorizations ({math.isqrt(size):,} connections x "
                      f"{size // max(1, math.isqrt(size)):,} users) filled in "
                      f"{time.perf_counter() - started:.1f} s (load {_load()})",
                      flush=True)  # fmt: skip
            prepared[size] = prepare(runtime, args.repeat, stack)
        print(f"measuring, load average: {_load()}", flush=True)
        # Round-robin over sizes and calls: a burst of load on the machine falls on every
        # figure alike instead of on one size's or one call's.
        for i in range(args.repeat):
            for size in sizes:
                calls, cli = prepared[size]
                for call, once in calls.items():
                    times[size][call].append(once())
                if i % 5 == 0:  # the CLI lists every page: fewer runs
                    first_page, whole = cli()
                    times[size]["CLI list: first page"].append(first_page)
                    times[size]["CLI list: all"].append(whole)
        loaded = _load()
    results = {s: {c: percentile(t, 50) * 1000 for c, t in times[s].items()} for s in sizes}
    first = sizes[0]
    header = "call".ljust(26) + "".join(f"{f'p50 @ {s:,}':>16}" for s in sizes)
    print(header + "".join(f"{f'x @ {s:,}':>12}" for s in sizes[1:]))
    for call in CALLS:
        row = call.ljust(26) + "".join(f"{results[s][call]:>13.1f} ms" for s in sizes)
        row += "".join(f"{results[s][call] / results[first][call]:>12.2f}" for s in sizes[1:])
        print(row)
    print(f"load average after: {loaded} ({args.repeat} rounds over sizes and calls; the CLI "
          f"every fifth)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
