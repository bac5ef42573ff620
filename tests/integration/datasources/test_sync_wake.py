"""A requested sync is queued to run now, in the request's transaction: on SQLite for the
in-process runner, on PostgreSQL in procrastinate's queue -- so a `plugboard worker` runs it at
once instead of at the next tick of the periodic schedule (an hour in the test below). A run
already waiting keeps its place, and a database without procrastinate's schema (no worker has
started yet) still takes the request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from plugboard.crypto.keyring import Keyring, format_key
from plugboard.crypto.sealing import Sealer
from plugboard.domain.clock import SystemClock
from plugboard.domain.datasources import SyncStatus
from plugboard.jobs.pg import ensure_schema
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.sync import SYNC_TASK
from tests.conftest import create_pg_database, drop_pg_database
from tests.integration.datasources.conftest import DsWorld

_WAITING = text(
    "SELECT id FROM procrastinate_jobs WHERE task_name = :task AND status = 'todo' ORDER BY id"
)


def _postgres(ds: DsWorld) -> bool:
    return ds.runtime.database.url.startswith("postgresql")


@pytest.fixture
def queue(ds: DsWorld) -> Iterator[None]:
    """procrastinate's schema on PostgreSQL (as `plugboard db upgrade` applies it), with no
    sync job in its queue before and after the test."""
    if _postgres(ds):
        ensure_schema(ds.runtime.database.url)
        _forget_sync_jobs(ds)  # a sync requested by an earlier test of this database
    yield
    if _postgres(ds):
        _forget_sync_jobs(ds)


def _forget_sync_jobs(ds: DsWorld) -> None:
    with ds.runtime.database.engine.begin() as conn:
        conn.execute(text("DELETE FROM procrastinate_jobs WHERE task_name = :t"), {"t": SYNC_TASK})


def _waiting(ds: DsWorld) -> list[str]:
    with ds.runtime.unit(write=False) as unit:
        if _postgres(ds):
            return [str(r.id) for r in unit.conn.execute(_WAITING, {"task": SYNC_TASK})]
        return [r.id for r in unit.job_runs.list(statuses=["queued"]) if r.task == SYNC_TASK]


@pytest.mark.usefixtures("queue")
def test_a_requested_sync_is_queued_to_run_now_and_one_waiting_run_serves_two(
    ds: DsWorld,
) -> None:
    first = ds.datasource("people").datasource.id
    second = ds.datasource("others").datasource.id
    assert _waiting(ds) == []

    ds.request(ds.dev, first)
    queued = _waiting(ds)
    ds.request(ds.dev, second)

    assert len(queued) == 1
    if _postgres(ds):  # procrastinate's queueing lock: the waiting run will see both syncs
        assert _waiting(ds) == queued
    else:  # the in-process runner claims runs one at a time and each runs every queued sync
        assert len(_waiting(ds)) == 2


def test_without_procrastinates_schema_the_request_still_commits(
    tmp_path: Path, keyring: Keyring, caplog: pytest.LogCaptureFixture
) -> None:
    url = create_pg_database("plugboard_wake")
    database = Database(url)
    try:
        database.upgrade()
        settings = Settings(home=tmp_path, database_url=url)
        runtime = Runtime(settings, database, Sealer(keyring), SystemClock())
        with runtime.unit() as unit:
            unit.job_runs.wake(SYNC_TASK, unit.now())  # the defer fails inside its savepoint
            unit.job_runs.enqueue("after_the_wake", unit.now())  # the transaction goes on
        with runtime.unit(write=False) as unit:
            assert [r.task for r in unit.job_runs.list(statuses=["queued"])] == ["after_the_wake"]
        assert not [r for r in caplog.records if r.name == "plugboard.jobs"]  # expected: quiet
    finally:
        database.dispose()
        drop_pg_database(url)


@pytest.mark.usefixtures("queue")
def test_a_worker_runs_a_requested_sync_at_once_not_at_the_next_tick(
    ds: DsWorld, keyring: Keyring, tmp_path: Path
) -> None:
    if not _postgres(ds):
        pytest.skip("procrastinate workers run on PostgreSQL (SQLite: the in-process runner)")
    datasource = ds.datasource("people").datasource.id
    sync_id = ds.request(ds.dev, datasource).sync.id
    [job] = _waiting(ds)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")},
        "PLUGBOARD_HOME": str(tmp_path / "home"),
        "PLUGBOARD_DATABASE_URL": ds.runtime.database.url,
        "PLUGBOARD_MASTER_KEYS": ",".join(format_key(k) for k in keyring.keys),
        "PLUGBOARD_JOBS_TICK_SECONDS": "3600",  # the schedule alone would wait up to an hour
        "PLUGBOARD_ALLOW_HTTP_HOSTS": "127.0.0.1",
        "PLUGBOARD_OUTBOUND_ALLOWLIST": "127.0.0.1",
    }
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "plugboard.cli", "worker", "--name", "wake"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                with ds.runtime.unit(write=False) as unit:
                    status = unit.datasources.sync(sync_id).status
                if status is SyncStatus.COMPLETED or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    output = (tmp_path / "worker.log").read_text()
    assert status is SyncStatus.COMPLETED, output[-3000:]
    with ds.runtime.database.engine.connect() as conn:
        ran = conn.execute(
            text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": int(job)}
        ).scalar_one()
    assert ran == "succeeded"
    assert ds.count(datasource) > 0
