"""The ``run_syncs`` job (SPEC §12): run every sync that is queued (or whose run died), up to
ten at once in this process; the database's ten slots bound them across every process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from plugboard.domain.datasources import MAX_RUNNING_SYNCS, SyncStatus
from plugboard.usecases.invoke import Invoker
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.sync import run_sync

SLOT_WAIT_SECONDS = 30.0


def run_queued_syncs(runtime: Runtime, invoker: Invoker | None = None) -> int:
    """Run what is runnable until nothing is (or no slot frees up); returns how many syncs
    finished here. Idempotent: a sync finished or running elsewhere is left alone."""
    own = invoker is None
    engine = invoker or Invoker(runtime)
    finished = 0
    try:
        with ThreadPoolExecutor(MAX_RUNNING_SYNCS, thread_name_prefix="plugboard-sync") as pool:
            while True:
                with runtime.unit(write=False) as unit:
                    ids = unit.datasources.runnable_syncs(limit=50)
                if not ids:
                    break
                results = list(
                    pool.map(
                        lambda i: run_sync(runtime, engine, i, slot_wait=SLOT_WAIT_SECONDS), ids
                    )
                )
                done = [s for s in results if not s.status.active]
                finished += len(done)
                if not done and all(s.status is SyncStatus.QUEUED for s in results):
                    break  # every slot is held elsewhere: the next run of the job goes on
    finally:
        if own:
            engine.close()
    return finished
