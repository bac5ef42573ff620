"""Throughput of a datasource sync: 5,000 records over 50 pages from the test provider (cursor
pagination, API key), through the real invoke and the store, against the same 50 pages fetched
by a bare `httpx2` loop in the same run. Target: sync >= 0.8 of the bare loop's records/s.

The test provider runs in a process of its own (``python -m plugboard.testing.server``), as a
real provider is a remote server: its CPU does not compete with either side for this process's
GIL, and both sides ask it for exactly the same pages. Rounds alternate bare loop and sync; the
first sync inserts every record, the next ones find them unchanged (``--insert``: the records
and the digests of the pages are deleted before each sync, outside its timing, so that every
sync inserts all of them).

Prints, per side, the median records/s, this process's CPU time (the part the machine's load
does not change) and the provider process's CPU for that side's pages (10 ms ticks), and the
load average; when the machine is busy (load per core > 1.5) it reports the figures instead of
failing.
``--database postgresql`` runs the store on a fresh PostgreSQL database
(PLUGBOARD_TEST_POSTGRES_URL, default 127.0.0.1:5432) instead of SQLite.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx2
from _common import runtime_on
from sqlalchemy import create_engine, delete, make_url, text

from plugboard.domain.clock import ManualClock
from plugboard.domain.credentials import ApiKeyCredential
from plugboard.domain.datasources import SyncStatus
from plugboard.domain.models import WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.store.tables import datasource_pages, datasource_records
from plugboard.testing.provider_state import DEMO_API_KEY
from plugboard.usecases import datasources, identity, sync
from plugboard.usecases.apps import create_app
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.invoke import Invoker
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service

RECORDS, PAGE = 5000, 100  # the provider's default records_total
ROUNDS = 9  # the load of a shared machine moves single rounds a lot: the median of nine
TARGET = 0.8
BUSY = 1.5  # load average per core above which the figures are reported, not judged
PG_SERVER = os.environ.get(
    "PLUGBOARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TICK = os.sysconf("SC_CLK_TCK")

SERVICE = """
name: Bench records
link_name: bench_records
base_url: BASE/api/apikey
auth_type: api_key
api_key:
  parameters:
    - {param_type: header, name: X-Api-Key, display_name: Key}
modules:
  - name: items
    display_name: Items
    path: /records
    params: {style: cursor}
    records: results
    fields: [id, name, email, amount, version]
    pagination: {style: cursor, page_size: 100, page_size_param: limit, cursor_param: after,
                 next_cursor: paging.next.after}
"""


@contextmanager
def provider_process() -> Iterator[tuple[str, int]]:
    """The test provider served by its own process on a free port: (base URL, pid)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "plugboard.testing.server", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "Plugboard test provider on http://127.0.0.1:PORT"
        if not first.startswith("Plugboard test provider on "):
            raise RuntimeError(f"the provider did not start: {first!r}")
        base = first.rsplit(" ", 1)[1].strip()
        deadline = time.monotonic() + 20
        while True:  # the banner is printed before uvicorn accepts
            try:
                httpx2.get(f"{base}/health")
                break
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # the rest of its banner


def cpu_of(pid: int) -> float:
    """Seconds of CPU (user + system) the process ``pid`` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@contextmanager
def store(kind: str) -> Iterator[Runtime]:
    with tempfile.TemporaryDirectory() as home:
        if kind == "sqlite":
            yield runtime_on(f"sqlite:///{home}/plugboard.db", Path(home),
                             allow_http_hosts="127.0.0.1")[0]  # fmt: skip
            return
        name = f"plugboard_syncbench_{secrets.token_hex(4)}"
        admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
            runtime = runtime_on(url, Path(home), allow_http_hosts="127.0.0.1")[0]
            try:
                yield runtime
            finally:
                runtime.database.engine.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def bare_loop(client: httpx2.Client, base: str) -> int:
    seen, after = 0, None
    while True:
        params = {"style": "cursor", "limit": str(PAGE)}
        if after:
            params["after"] = after
        response = client.get(f"{base}/api/apikey/records", params=params)
        response.raise_for_status()
        body = response.json()
        seen += len(body["results"])
        after = body["paging"].get("next", {}).get("after")
        if not after:
            return seen


def set_up(runtime: Runtime, base: str) -> str:
    """The workspace, service, connection, credential, app and datasource: its id."""
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "bench", WorkspaceKind.DEVELOPER)
    with runtime.unit() as unit:
        create_custom_service(unit, OPERATOR, SERVICE.replace("BASE", base),
                              workspace="bench", http_hosts=["127.0.0.1"])  # fmt: skip
        create_connection(unit, OPERATOR, service="bench_records", link_name="items",
                          workspace="bench")  # fmt: skip
        store_credential(unit, OPERATOR, connection="items", workspace="bench",
                         credential=ApiKeyCredential({"X-Api-Key": DEMO_API_KEY}))  # fmt: skip
        create_app(unit, OPERATOR, name="Bench", link_name="bench", workspace="bench")
        source = datasources.create_datasource(
            unit, OPERATOR, "bench", name="items", connection="items", module="items",
            workspace="bench",
        )  # fmt: skip
    return source.datasource.id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--insert", action="store_true", help="every sync inserts every record")
    args = parser.parse_args(argv)
    bare_rates: list[float] = []
    sync_rates: list[float] = []
    bare_cpu: list[float] = []  # this process's CPU time for the side (every thread)
    sync_cpu: list[float] = []
    bare_provider: list[float] = []  # the provider process's CPU time for the same pages
    sync_provider: list[float] = []
    changed: list[int] = []
    with provider_process() as (base, pid), store(args.database) as runtime:
        clock = ManualClock(datetime.now(UTC))
        runtime.clock = clock
        datasource_id = set_up(runtime, base)
        invoker = Invoker(runtime)
        client = httpx2.Client(headers={"X-Api-Key": DEMO_API_KEY}, timeout=10)
        try:
            bare_loop(client, base)  # warm both paths up (connections, the provider's code)
            for _ in range(args.rounds):
                start, cpu, far = time.perf_counter(), time.process_time(), cpu_of(pid)
                assert bare_loop(client, base) == RECORDS
                bare_rates.append(RECORDS / (time.perf_counter() - start))
                bare_cpu.append(time.process_time() - cpu)
                bare_provider.append(cpu_of(pid) - far)
                with runtime.unit() as unit:
                    if args.insert:  # and the page digests, or the sync skips every page
                        unit.conn.execute(delete(datasource_records))
                        unit.conn.execute(delete(datasource_pages))
                    asked = sync.request_sync(unit, OPERATOR, datasource_id)
                start, cpu, far = time.perf_counter(), time.process_time(), cpu_of(pid)
                done = sync.run_sync(runtime, invoker, asked.sync.id)
                elapsed = time.perf_counter() - start
                sync_cpu.append(time.process_time() - cpu)
                sync_provider.append(cpu_of(pid) - far)
                assert done.status is SyncStatus.COMPLETED, done.error
                assert done.records_seen == RECORDS
                assert not args.insert or done.records_changed == RECORDS
                sync_rates.append(RECORDS / elapsed)
                changed.append(done.records_changed)
                clock.advance(86400)  # the next round is another day (the 24-hour rule)
        finally:
            client.close()
            invoker.close()
    bare, synced = statistics.median(bare_rates), statistics.median(sync_rates)
    ratio = synced / bare
    load = os.getloadavg()
    cores = os.cpu_count() or 1

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f} ms"

    print(f"{args.database}: {RECORDS:,} records over {RECORDS // PAGE} pages, provider in its "
          f"own process, median of {args.rounds} rounds"
          + (", every sync inserting every record" if args.insert else ""))  # fmt: skip
    print(f"bare httpx2 loop: {bare:,.0f} records/s   sync: {synced:,.0f} records/s")
    print("  per round: bare " + ", ".join(f"{r:,.0f}" for r in bare_rates) + " | sync "
          + ", ".join(f"{r:,.0f} ({c:,} changed)" for r, c in zip(sync_rates, changed,
                                                                  strict=True)))  # fmt: skip
    print(f"process CPU per {RECORDS:,} records: bare loop {ms(bare_cpu)}, sync {ms(sync_cpu)}; "
          f"the provider's: {ms(bare_provider)} / {ms(sync_provider)}")  # fmt: skip
    print(f"ratio {ratio:.2f} (target >= {TARGET})   load average {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f} on {cores} cores")  # fmt: skip
    if ratio >= TARGET:
        return 0
    if load[0] / cores > BUSY:
        print("the machine is too busy to judge: figures reported, not failed")
        return 0
    print("FAILED: below target")
    return 1


if __name__ == "__main__":
    sys.exit(main())
