"""The in-process queue (SQLite's, and any database's with run_jobs): a periodic task queued once
per period across runners, a failing run kept with its error, `plugboard jobs list` and
`plugboard jobs retry` over it, and a lapsed lease taken over by another runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plugboard.cli.main import app
from plugboard.crypto.keyring import Keyring, format_key
from plugboard.domain.clock import ManualClock
from plugboard.jobs.inprocess import InProcessRunner
from plugboard.jobs.tasks import JobContext, Task
from plugboard.usecases.runtime import Runtime

calls: list[str] = []


def _flaky(context: JobContext) -> object:
    calls.append("flaky")
    if len(calls) == 1:
        raise RuntimeError("the upstream said no")
    return "ok"


TASKS = {"flaky": Task("flaky", _flaky)}


def test_periodic_runs_once_per_period_across_runners_and_failures_are_kept(
    runtime: Runtime, clock: ManualClock
) -> None:
    calls.clear()
    one = InProcessRunner(runtime, tasks=TASKS, name="one")
    two = InProcessRunner(runtime, tasks=TASKS, name="two")
    assert (one.queue_periodic(), two.queue_periodic()) == (1, 0)
    assert one.run_next() and not two.run_next()
    with runtime.unit(write=False) as unit:
        (failed,) = unit.job_runs.list(["failed"])
    assert failed.error == "RuntimeError: the upstream said no" and failed.attempts == 1
    with runtime.unit() as unit:
        assert unit.job_runs.retry(failed.id, unit.now()) is not None
    assert two.run_next()
    with runtime.unit(write=False) as unit:
        run = unit.job_runs.get(failed.id)
    assert run is not None and (run.status, run.attempts, run.error) == ("succeeded", 2, None)
    clock.advance(runtime.settings.jobs_tick_seconds)
    assert one.queue_periodic() == 1  # the next period


def test_a_lapsed_lease_is_taken_over(runtime: Runtime, clock: ManualClock) -> None:
    one = InProcessRunner(runtime, tasks=TASKS, name="one")
    one.queue_periodic()
    with runtime.unit() as unit:  # "one" claims it, then dies without finishing
        from datetime import timedelta

        held = unit.job_runs.claim("one", unit.now(), timedelta(seconds=60), tasks=TASKS)
    assert held is not None
    two = InProcessRunner(runtime, tasks=TASKS, name="two")
    assert not two.run_next()  # the lease holds
    clock.advance(61)
    calls.clear()
    calls.append("first attempt died")
    assert two.run_next()
    with runtime.unit(write=False) as unit:
        run = unit.job_runs.get(held.id)
    assert run is not None and (run.status, run.attempts, run.worker) == ("succeeded", 2, "two")


def test_jobs_list_and_retry_from_the_cli(
    tmp_path: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugboard.domain.clock import SystemClock
    from plugboard.settings import Settings
    from plugboard.store.database import Database

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    database = Database(url)
    database.upgrade()
    from plugboard.crypto.sealing import Sealer

    runtime = Runtime(Settings(home=tmp_path, database_url=url), database, Sealer(keyring),
                      SystemClock())  # fmt: skip
    calls.clear()
    runner = InProcessRunner(runtime, tasks=TASKS, name="cli")
    runner.queue_periodic()
    runner.run_next()
    monkeypatch.setenv("PLUGBOARD_DATABASE_URL", url)
    monkeypatch.setenv("PLUGBOARD_HOME", str(tmp_path))
    monkeypatch.setenv("PLUGBOARD_MASTER_KEYS", ",".join(format_key(k) for k in keyring.keys))
    cli = CliRunner()
    listed = cli.invoke(app, ["jobs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (job,) = json.loads(listed.output)
    assert (job["task"], job["status"], job["error"]) == (
        "flaky", "failed", "RuntimeError: the upstream said no",
    )  # fmt: skip
    retried = cli.invoke(app, ["jobs", "retry", job["id"], "--json"])
    assert retried.exit_code == 0 and json.loads(retried.output)["status"] == "queued"
    again = cli.invoke(app, ["jobs", "retry", job["id"]])
    assert again.exit_code != 0  # no longer a failed job
    runtime.close()
