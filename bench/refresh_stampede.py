"""Refresh stampede: 500 concurrent invokes with an expired OAuth 2 token against a local token
endpoint that counts its calls. The count must be 1 and all 500 must succeed -- with threads,
with asyncio tasks, and across 4 processes on PostgreSQL (skipped, saying so, when no server
answers at 127.0.0.1:5432). The token endpoint takes 0.2 s, so the callers really overlap.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from _common import REPO, runtime_on, sqlite_runtime

from plugboard.client.local import LocalClient
from plugboard.crypto.keyring import format_key
from plugboard.domain.credentials import OAuth2Credential
from plugboard.domain.principal import OPERATOR
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.services import create_custom_service
from tests.integration.invoke_support import RunningProvider, resolver, service_yaml

N = 500
PROCESSES = 4
PG_SERVER = os.environ.get(
    "PLUGBOARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def _seed(runtime: Any, running: RunningProvider) -> None:
    from plugboard.domain.models import WorkspaceKind

    state = running.provider.state
    with runtime.unit() as unit:
        unit.workspaces.add("default", WorkspaceKind.DEVELOPER, unit.now())
        create_custom_service(unit, OPERATOR, service_yaml("oauth2", running.provider.port, state))
        create_connection(
            unit, OPERATOR, service="test_oauth2", link_name="crm", params={"tenant": "acme"}
        )


def _expire(runtime: Any, running: RunningProvider) -> None:
    state = running.provider.state
    with runtime.unit() as unit:
        store_credential(
            unit,
            OPERATOR,
            connection="crm",
            expires_at=LONG_AGO,
            credential=OAuth2Credential(state.new_access_token(), state.new_refresh_token()),
        )
    state.token_calls = 0


def _threads(pb: LocalClient, url: str) -> list[int]:
    barrier = threading.Barrier(N)
    statuses: list[int] = []

    def one() -> None:
        barrier.wait()
        try:
            statuses.append(pb.invoke_url(url, connection="crm").status)
        except Exception as exc:  # counted as a failure below
            print("  error:", type(exc).__name__, exc)

    threads = [threading.Thread(target=one) for _ in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def _tasks(pb: LocalClient, url: str) -> list[int]:
    statuses: list[int] = []

    async def one() -> None:
        try:
            statuses.append((await pb.invoke_url_async(url, connection="crm")).status)
        except Exception as exc:
            print("  error:", type(exc).__name__, exc)

    async def main() -> None:
        try:
            async with anyio.create_task_group() as tg:
                for _ in range(N):
                    tg.start_soon(one)
        finally:
            await pb.aclose()

    anyio.run(main)
    return statuses


def _report(label: str, statuses: list[int], calls: int, seconds: float) -> bool:
    ok = statuses.count(200)
    good = ok == N and calls == 1
    print(
        f"{label:28} {ok}/{N} succeeded, token endpoint calls: {calls}, "
        f"{seconds:.2f} s  {'ok' if good else 'FAILED'}"
    )
    return good


CHILD = """
import os, ssl, sys, threading
from pathlib import Path
from plugboard.client.local import LocalClient
from plugboard.settings import Settings
from plugboard.usecases.runtime import Runtime
from tests.integration.invoke_support import resolver
runtime = Runtime.open(Settings())
trust = ssl.create_default_context(cadata=Path(os.environ["PB_TEST_CA"]).read_text())
pb = LocalClient(runtime, resolver=resolver, verify=trust)
url, count = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
statuses = []
barrier = threading.Barrier(count)
def one():
    barrier.wait()
    statuses.append(pb.invoke_url(url, connection="crm").status)
threads = [threading.Thread(target=one) for _ in range(count)]
[t.start() for t in threads]
[t.join() for t in threads]
print("done", statuses.count(200), flush=True)
pb.close()
runtime.close()
"""


def _processes(running: RunningProvider, url: str) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    try:
        engine = create_engine(PG_SERVER, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError:
        print(
            f"{PROCESSES} processes on PostgreSQL: SKIPPED, no PostgreSQL answers at "
            f"{PG_SERVER.split('@')[-1]}"
        )
        return True
    name = f"plugboard_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url_db = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    home = Path(os.environ.get("TMPDIR", "/tmp")) / name
    home.mkdir()
    runtime, keyring = runtime_on(url_db, home)
    try:
        _seed(runtime, running)
        _expire(runtime, running)
        ca = home / "ca.pem"
        ca.write_text(running.pem)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
        env.update(
            PLUGBOARD_HOME=str(home),
            PLUGBOARD_DATABASE_URL=url_db,
            PLUGBOARD_MASTER_KEYS=",".join(format_key(k) for k in keyring.keys),
            PLUGBOARD_OUTBOUND_ALLOWLIST="127.0.0.1",
            PB_TEST_CA=str(ca),
            PYTHONPATH=str(REPO),
        )
        per = N // PROCESSES
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, url, str(per)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=120)[0] for child in children]
        seconds = time.perf_counter() - started
        ok = sum(int(out.split()[1]) for out in outputs if out.startswith("done"))
        return _report(
            f"{PROCESSES} processes x {per} threads (PG)",
            [200] * ok,
            running.provider.state.token_calls,
            seconds,
        )
    finally:
        runtime.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        engine.dispose()


def main() -> int:
    running = RunningProvider()
    running.provider.state.token_endpoint_delay = 0.2
    runtime, _keyring, home = sqlite_runtime()
    good = True
    try:
        _seed(runtime, running)
        url = running.provider.url("/api/oauth2/me")
        print(f"{N} concurrent invokes with an expired token; token endpoint answers in 0.2 s")
        for label, run in (("threads (SQLite)", _threads), ("asyncio tasks (SQLite)", _tasks)):
            _expire(runtime, running)
            pb = LocalClient(runtime, resolver=resolver, verify=running.provider.trust or True)
            started = time.perf_counter()
            statuses = run(pb, url)
            seconds = time.perf_counter() - started
            pb.close()
            good &= _report(label, statuses, running.provider.state.token_calls, seconds)
        good &= _processes(running, url)
    finally:
        runtime.close()
        home.cleanup()
        running.close()
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
