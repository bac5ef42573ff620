"""Throughput of a datasource sync: 5,000 records over 50 pages from the test provider (cursor
pagination, API key), through the real invoke and the store (SQLite), against the same 50
pages fetched by a bare `httpx2` loop in the same run. Target: sync >= 0.8 of the bare loop's
records/s. Prints the load average and the process CPU time of each side (which the machine's
load does not change); when the machine is busy (load per core > 1.5) it reports the figures
instead of failing.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime

import httpx2
from _common import sqlite_runtime

from plugboard.domain.clock import ManualClock
from plugboard.domain.credentials import ApiKeyCredential
from plugboard.domain.datasources import SyncStatus
from plugboard.domain.principal import OPERATOR
from plugboard.testing import run_provider
from plugboard.testing.provider_state import DEMO_API_KEY
from plugboard.usecases import datasources, sync
from plugboard.usecases.apps import create_app
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.invoke import Invoker
from plugboard.usecases.services import create_custom_service

RECORDS, PAGE = 5000, 100
ROUNDS = 3
TARGET = 0.8
BUSY = 1.5  # load average per core above which the figures are reported, not judged

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


def bare_loop(client: httpx2.Client, base: str) -> int:
    seen, after = 0, None
    while True:
        params = {"style": "cursor", "limit": str(PAGE)}
        if after:
            params["after"] = after
        body = client.get(f"{base}/api/apikey/records", params=params).json()
        seen += len(body["results"])
        after = body["paging"].get("next", {}).get("after")
        if not after:
            return seen


def main() -> int:
    runtime, _, home = sqlite_runtime(allow_http_hosts="127.0.0.1")
    clock = ManualClock(datetime.now(UTC))
    runtime.clock = clock
    with run_provider() as (base, state), home:
        state.records_total = RECORDS
        with runtime.unit() as unit:
            from plugboard.domain.models import WorkspaceKind
            from plugboard.usecases import identity

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
        invoker = Invoker(runtime)
        client = httpx2.Client(headers={"X-Api-Key": DEMO_API_KEY}, timeout=10)
        bare_rates: list[float] = []
        sync_rates: list[float] = []
        bare_cpu: list[float] = []  # the process's CPU time (every thread, the provider's too)
        sync_cpu: list[float] = []
        try:
            bare_loop(client, base)  # warm both paths up
            for _ in range(ROUNDS):
                start, cpu = time.perf_counter(), time.process_time()
                assert bare_loop(client, base) == RECORDS
                bare_rates.append(RECORDS / (time.perf_counter() - start))
                bare_cpu.append(time.process_time() - cpu)
                with runtime.unit() as unit:
                    asked = sync.request_sync(unit, OPERATOR, source.datasource.id)
                start, cpu = time.perf_counter(), time.process_time()
                done = sync.run_sync(runtime, invoker, asked.sync.id)
                elapsed = time.perf_counter() - start
                sync_cpu.append(time.process_time() - cpu)
                assert done.status is SyncStatus.COMPLETED, done.error
                assert done.records_seen == RECORDS
                sync_rates.append(RECORDS / elapsed)
                clock.advance(86400)  # the next round is another day (the 24-hour rule)
        finally:
            client.close()
            invoker.close()
    bare, synced = statistics.median(bare_rates), statistics.median(sync_rates)
    ratio = synced / bare
    load = os.getloadavg()
    cores = os.cpu_count() or 1
    print(f"bare httpx2 loop: {bare:,.0f} records/s   sync: {synced:,.0f} records/s "
          f"(median of {ROUNDS}, {RECORDS:,} records over {RECORDS // PAGE} pages)")  # fmt: skip
    print(f"process CPU per {RECORDS:,} records: bare loop "
          f"{statistics.median(bare_cpu) * 1000:.0f} ms, sync "
          f"{statistics.median(sync_cpu) * 1000:.0f} ms (the load-independent part)")  # fmt: skip
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
