"""The registered tasks on procrastinate: PostgreSQL's own job queue, shared by any number of
``plugboard worker`` processes (no other component to operate).

- Every registered task becomes a procrastinate task of the same name, periodic on the
  ``jobs_tick_seconds`` schedule. procrastinate defers a periodic job once per period across all
  workers (a unique row per task and timestamp), its ``queueing_lock`` keeps at most one of each
  task waiting, and its ``lock`` lets one run at a time.
- A worker sends a heartbeat every third of ``worker_stalled_seconds``. ``retry_stalled_jobs``
  (itself periodic) puts the jobs of a worker silent for longer -- killed with ``kill -9``, its
  machine gone -- back in the queue, so they run again.
- procrastinate keeps no error text: a failing task's error is stored in ``job_runs`` under
  ``pcr_<job id>`` for ``plugboard jobs list``.
- The schema: procrastinate's own (its tables, functions and triggers), applied by
  :func:`ensure_schema` when absent -- ``plugboard db upgrade`` and every worker's start call it,
  under an advisory lock so that workers starting together apply it once.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from typing import Any

import procrastinate
import psycopg
from procrastinate import JobContext as ProcrastinateContext
from procrastinate.exceptions import UniqueViolation
from procrastinate.schema import SchemaManager

from plugboard.jobs.tasks import TASKS, JobContext, Task
from plugboard.usecases.runtime import Runtime

__all__ = ["build_app", "conninfo", "cron_for", "ensure_schema", "run_worker"]

log = logging.getLogger("plugboard.jobs")

RETRY_STALLED = "retry_stalled_jobs"
FORGET_FINISHED = "forget_finished_jobs"
_SCHEMA_LOCK = 0x706C7567  # "plug": the advisory lock taken while applying the schema


def conninfo(database_url: str) -> str:
    """libpq's form of our SQLAlchemy URL (``postgresql+psycopg://`` → ``postgresql://``)."""
    scheme, _, rest = database_url.partition("://")
    if not scheme.startswith("postgresql"):
        raise ValueError("procrastinate runs on PostgreSQL only")
    return f"postgresql://{rest}"


def cron_for(tick_seconds: int) -> str:
    """A cron line for the tick: a sixth field (seconds) under a minute, minutes above."""
    if tick_seconds < 60:
        return f"* * * * * */{tick_seconds}"
    minutes = tick_seconds // 60
    return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"


def ensure_schema(database_url: str) -> bool:
    """Apply procrastinate's schema unless it is there; True when this call applied it."""
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if row is not None and row[0] is not None:
                return False
            conn.execute(SchemaManager.get_schema())
            log.info("applied procrastinate's schema")
            return True
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))


def build_app(context: JobContext) -> procrastinate.App:
    """A procrastinate app with every registered task, bound to this process's context."""
    runtime = context.runtime
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(runtime.database.url))
    )
    cron = cron_for(runtime.settings.jobs_tick_seconds)
    for task in TASKS.values():
        registered = app.task(
            name=task.name, lock=task.name, queueing_lock=task.name, pass_context=True
        )(_runner(task, context))
        if task.periodic:
            app.periodic(cron=cron, periodic_id=task.name)(registered)
    stalled_after = runtime.settings.worker_stalled_seconds

    @app.periodic(cron=cron, periodic_id=RETRY_STALLED)
    @app.task(name=RETRY_STALLED, queueing_lock=RETRY_STALLED)
    async def retry_stalled_jobs(timestamp: int) -> int:
        stalled = list(
            await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
        )
        for job in stalled:
            log.warning("job %s (%s) stalled: its worker is gone; retrying", job.id, job.task_name)
            try:
                await app.job_manager.retry_job(job)
            except UniqueViolation:
                # The next period's run already waits under the same queueing lock: it gives
                # way to the interrupted one (the same idempotent work).
                waiting = await app.job_manager.list_jobs_async(
                    queueing_lock=job.queueing_lock, status="todo"
                )
                for other in waiting:
                    if other.id is not None:
                        await app.job_manager.cancel_job_by_id_async(other.id)
                await app.job_manager.retry_job(job)
        return len(stalled)

    @app.periodic(cron="17 * * * *", periodic_id=FORGET_FINISHED)
    @app.task(name=FORGET_FINISHED, queueing_lock=FORGET_FINISHED)
    async def forget_finished_jobs(timestamp: int) -> None:
        # Succeeded jobs stay a day (`plugboard jobs list --all`), failed ones until retried.
        await app.job_manager.delete_old_jobs(nb_hours=24)

    return app


def _runner(task: Task, context: JobContext) -> Any:
    def run(job_context: ProcrastinateContext, timestamp: int | None = None) -> None:
        try:
            task.run(context)
        except Exception as exc:
            _record_error(context.runtime, task, job_context, exc)
            raise

    run.__name__ = task.name
    return run


def _record_error(
    runtime: Runtime, task: Task, job_context: ProcrastinateContext, exc: Exception
) -> None:
    error = f"{type(exc).__name__}: {exc}"
    log.warning("job %s (%s) failed: %s", job_context.job.id, task.name, error)
    log.debug("%s", traceback.format_exc())
    try:
        with runtime.unit() as unit:
            unit.job_runs.record_error(
                f"pcr_{job_context.job.id}", task.name, error, job_context.job.attempts + 1,
                unit.now(),
            )  # fmt: skip
    except Exception:
        log.exception("could not record the error of job %s", job_context.job.id)


def run_worker(runtime: Runtime, *, name: str | None = None) -> None:
    """Run one worker in the foreground until SIGINT/SIGTERM (procrastinate's handlers)."""
    ensure_schema(runtime.database.url)
    context = JobContext(runtime)
    app = build_app(context)
    stalled = runtime.settings.worker_stalled_seconds
    try:
        app.run_worker(
            name=name or f"{socket.gethostname()}:{os.getpid()}",
            concurrency=2,
            update_heartbeat_interval=stalled / 3,
            stalled_worker_timeout=stalled,
            fetch_job_polling_interval=min(5.0, runtime.settings.jobs_tick_seconds / 2),
            delete_jobs="never",
        )
    finally:
        context.close()
