"""Exactly one refresh in flight per authorization (SPEC §5): threads and tasks of one process
share it, clients that share nothing but the database serialize on the account row lock, and
so do separate processes (on SQLite and on PostgreSQL)."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from plugboard.crypto.keyring import Keyring, format_key
from plugboard.store.database import Database
from tests.integration.invoke_support import (  # noqa: F401
    World,
    provider,
    running_provider,
    world,
)

REPO = Path(__file__).resolve().parents[2]
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def _expired_connection(world: World) -> str:
    service = world.service("oauth2")
    link = world.connection(service, link="crm")
    world.store(link, world.oauth2_credential(), expires_at=LONG_AGO)
    world.state.token_delay = 0.3  # keep the refresh in flight while the others arrive
    return link


def _in_threads(count: int, call: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except Exception as exc:  # reported through results
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_concurrent_threads_share_one_refresh(world: World) -> None:
    link = _expired_connection(world)
    pb = world.client()
    results = _in_threads(40, lambda i: pb.invoke_url("/me", connection=link).status)
    assert results == [200] * 40
    assert world.state.token_calls == 1


def test_concurrent_tasks_share_one_refresh(world: World) -> None:
    link = _expired_connection(world)
    pb = world.client()
    statuses: list[int] = []

    async def one() -> None:
        statuses.append((await pb.invoke_url_async("/me", connection=link)).status)

    async def main() -> None:
        try:
            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(one)
        finally:
            await pb.aclose()

    anyio.run(main)
    assert statuses == [200] * 40
    assert world.state.token_calls == 1


def test_clients_sharing_only_the_database_refresh_once(world: World) -> None:
    link = _expired_connection(world)
    clients = [world.client() for _ in range(4)]  # four coordinators: no shared flight
    results = _in_threads(20, lambda i: clients[i % 4].invoke_url("/me", connection=link).status)
    assert results == [200] * 20
    assert world.state.token_calls == 1


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
url, link = sys.argv[1], sys.argv[2]
print("ready", flush=True)
sys.stdin.readline()
statuses = []
def one():
    statuses.append(pb.invoke_url(url, connection=link).status)
threads = [threading.Thread(target=one) for _ in range(5)]
[t.start() for t in threads]
[t.join() for t in threads]
print("done", ",".join(map(str, statuses)), pb.invoker.refresher.token_requests, flush=True)
pb.close()
runtime.close()
"""


def _child_env(database: Database, keyring: Keyring, home: Path, ca: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(
        PLUGBOARD_HOME=str(home),
        PLUGBOARD_DATABASE_URL=database.url,
        PLUGBOARD_MASTER_KEYS=",".join(format_key(k) for k in keyring.keys),
        PLUGBOARD_OUTBOUND_ALLOWLIST="127.0.0.1",
        PB_TEST_CA=str(ca),
        PYTHONPATH=str(REPO),
    )
    return env


def test_processes_on_one_database_refresh_once(
    world: World, database: Database, keyring: Keyring, tmp_path: Path, running_provider: Any
) -> None:
    link = _expired_connection(world)
    ca = tmp_path / "ca.pem"
    ca.write_text(running_provider.pem)
    env = _child_env(database, keyring, tmp_path / "home", ca)
    url = world.provider.url("/api/oauth2/me")
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url, link],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr
        for child in children:  # start them together
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    lines = [out.strip().split() for out, _ in outputs]
    assert all(line[0] == "done" for line in lines), outputs
    assert [line[1] for line in lines] == ["200,200,200,200,200"] * 4
    assert sum(int(line[2]) for line in lines) == 1
    assert world.state.token_calls == 1
