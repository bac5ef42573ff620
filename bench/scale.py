"""Listings at scale (`make bench-scale`; not part of `make bench`: it takes minutes).

For each size N (default 10,000 and 100,000; `--sizes 10000,100000,1000000` for the full run) a
fresh PostgreSQL database is filled with N user-level authorizations: about sqrt(N) users each
authorized on about sqrt(N) connections, every credential sealed by the store's own sealing
(bulk inserts). Then, through the REST API served in this process, each call is timed
`--repeat` times and its p50 printed, with its growth factor against the first size:

- a page of `GET /connections` (50, as the super admin);
- a user's page of authorizations (`GET /connections/{link}/authorizations`, as that user);
- the super admin's page of the same list (50);
- connection details (`GET /connections/{link}`);
- revoking one authorization (a different user each time).

Needs PostgreSQL at PLUGBOARD_TEST_POSTGRES_URL (default 127.0.0.1:5432, user postgres); says
so and exits 0 when none answers. Prints the load average: on a busy machine every figure grows.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import percentile, runtime_on
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from plugboard.domain.credentials import ApiKeyCredential, credential_to_data
from plugboard.domain.ids import new_id
from plugboard.domain.models import ALL_ENVIRONMENTS, ConnectionLevel, Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.server.app import create_app
from plugboard.store.sealed import seal_json
from plugboard.store.tables import accounts, authorizations, memberships, users
from plugboard.usecases import identity
from plugboard.usecases.connections import create_connection
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service

PG_SERVER = os.environ.get(
    "PLUGBOARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
WORKSPACE = "scale"
BATCH = 5_000
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
CALLS = ("connections page", "user's authorizations", "admin's authorizations", "details", "revoke")


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"plugboard_scale_{secrets.token_hex(4)}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _email(i: int) -> str:
    return f"u{i:07d}@scale.test"


def fill(runtime: Runtime, size: int) -> tuple[list[str], int]:
    """About ``size`` authorizations: the link names of the connections and the user count.
    User 0 is the super admin (and the primary of every connection)."""
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
    credential = credential_to_data(ApiKeyCredential({"X-Api-Key": "scale-key"}))
    sealer = runtime.sealer
    pending: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])

    def flush() -> None:
        with runtime.unit() as unit:
            unit.conn.execute(accounts.insert(), pending[0])
            unit.conn.execute(authorizations.insert(), pending[1])
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
    with runtime.database.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    return links, n_users


def _timed(call: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = call()
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return percentile(times, 50) * 1000


def measure(runtime: Runtime, links: list[str], n_users: int, repeat: int) -> dict[str, float]:
    with runtime.unit() as unit:

        def token(i: int) -> str:
            actor = identity.principal_for(unit, _email(i), WORKSPACE, via="bench")
            return identity.create_token(unit, actor, name="bench").secret

        root = token(0)
        reader = token(1)
        revokers = [token(i) for i in range(2, min(n_users, repeat + 2))]
    link = links[len(links) // 2]
    client = TestClient(create_app(runtime=runtime), base_url="http://127.0.0.1")

    def get(path: str, secret: str, **params: Any) -> Any:
        return client.get(f"/api/v1{path}", params=params,
                          headers={"Authorization": f"Bearer {secret}"})  # fmt: skip

    pending = iter(revokers)

    def revoke() -> Any:
        return client.post(f"/api/v1/connections/{link}/authorizations/revoke", json={},
                           headers={"Authorization": f"Bearer {next(pending)}"})  # fmt: skip

    with client:
        for warm in (root, reader):
            get("/connections", warm, limit=50)
        return {
            "connections page": _timed(lambda: get("/connections", root, limit=50), repeat),
            "user's authorizations": _timed(
                lambda: get(f"/connections/{link}/authorizations", reader), repeat
            ),
            "admin's authorizations": _timed(
                lambda: get(f"/connections/{link}/authorizations", root, limit=50), repeat
            ),
            "details": _timed(lambda: get(f"/connections/{link}", root), repeat),
            "revoke": _timed(revoke, len(revokers)),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=30, help="calls timed per figure")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    try:
        with create_engine(PG_SERVER, connect_args={"connect_timeout": 3}).connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        print(f"skipped: no PostgreSQL at {PG_SERVER} ({str(exc.orig).strip().splitlines()[0]})")
        return 0
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")  # fmt: skip
    results: dict[int, dict[str, float]] = {}
    for size in sizes:
        with fresh_database() as url, tempfile.TemporaryDirectory() as home:
            runtime, _keyring = runtime_on(url, Path(home))
            started = time.perf_counter()
            links, n_users = fill(runtime, size)
            filled = time.perf_counter() - started
            print(f"{size:>9,} authorizations ({len(links):,} connections x {n_users:,} users) "
                  f"filled in {filled:.1f} s")  # fmt: skip
            results[size] = measure(runtime, links, n_users, args.repeat)
            runtime.database.dispose()
    first = sizes[0]
    header = "call".ljust(24) + "".join(f"{f'p50 @ {s:,}':>16}" for s in sizes)
    print(header + "".join(f"{f'x @ {s:,}':>12}" for s in sizes[1:]))
    for call in CALLS:
        row = call.ljust(24) + "".join(f"{results[s][call]:>13.1f} ms" for s in sizes)
        row += "".join(f"{results[s][call] / results[first][call]:>12.2f}" for s in sizes[1:])
        print(row)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
