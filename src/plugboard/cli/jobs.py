"""`plugboard worker` and `plugboard jobs …` (`plugboard notifications …`: cli/notifications.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import JsonOption, open_runtime
from plugboard.cli.output import out, print_json, print_table, when

if TYPE_CHECKING:
    from plugboard.jobs.inprocess import InProcessRunner

jobs_app = typer.Typer(
    help="Background jobs: list queued, running and failed ones, retry, run one now.",
    no_args_is_help=True,
)


def worker(
    name: Annotated[str | None, typer.Option(help="Worker name in logs and job lists.")] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="Print what runs as one JSON line before running.")
    ] = False,
) -> None:
    """Run background jobs in the foreground until Ctrl-C or SIGTERM: on PostgreSQL a
    procrastinate worker (start as many as you like), on SQLite the in-process runner."""
    import logging

    from plugboard.jobs.inprocess import InProcessRunner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    runtime = open_runtime()
    try:
        if json_:
            print_json({"backend": runtime.database.backend, "name": name,
                        "tick_seconds": runtime.settings.jobs_tick_seconds})  # fmt: skip
        if runtime.database.backend == "postgresql":
            from plugboard.jobs.pg import run_worker

            if not json_:
                out.print(f"plugboard worker on PostgreSQL (procrastinate), tick "
                          f"{runtime.settings.jobs_tick_seconds} s", markup=False)  # fmt: skip
            run_worker(runtime, name=name)
            return
        runner = InProcessRunner(runtime, name=name)
        if not json_:
            out.print(f"plugboard worker on SQLite (in-process runner {runner.name})", markup=False)
        _run_until_signalled(runner)
    finally:
        runtime.close()


def _run_until_signalled(runner: InProcessRunner) -> None:
    import signal
    import threading

    stopping = threading.Event()

    def stop(_signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.start()
    while not stopping.wait(0.5):
        pass
    runner.stop()


@jobs_app.command("list")
def jobs_list(
    all_: Annotated[
        bool, typer.Option("--all", help="Also the succeeded jobs still kept.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    json_: JsonOption = False,
) -> None:
    """Queued, running and failed jobs, newest first, with the error of each failed one."""
    from plugboard.jobs.admin import list_jobs

    statuses = ("queued", "running", "failed") + (("succeeded",) if all_ else ())
    runtime = open_runtime()
    try:
        jobs = list_jobs(runtime, statuses, limit=limit)
    finally:
        runtime.close()
    if json_:
        print_json(jobs)
        return
    print_table(
        "Jobs",
        ["id", "task", "status", "attempts", "scheduled", "error"],
        [(j.id, j.task, j.status, j.attempts, when(j.scheduled_at), j.error) for j in jobs],
    )


@jobs_app.command("retry")
def jobs_retry(
    job_id: Annotated[str, typer.Argument(metavar="ID", help="A failed job's id (jobs list).")],
    json_: JsonOption = False,
) -> None:
    """Queue a failed job again, to run now."""
    from plugboard.jobs.admin import retry_job

    runtime = open_runtime()
    try:
        job = retry_job(runtime, job_id)
    finally:
        runtime.close()
    if json_:
        print_json(job)
    else:
        out.print(f"job {job.id} ({job.task}) is {job.status} again", markup=False)


@jobs_app.command("run")
def jobs_run(
    task: Annotated[str, typer.Argument(help="A task name, e.g. refresh_tokens.")],
    json_: JsonOption = False,
) -> None:
    """Run one task in this process now, outside the queue (tasks are idempotent)."""
    from plugboard.jobs.admin import run_task_now

    runtime = open_runtime()
    try:
        result = run_task_now(runtime, task)
    finally:
        runtime.close()
    if json_:
        print_json({"task": task, "result": result})
    else:
        out.print(f"{task}: {result}", markup=False)
