"""``plugboard jobs list`` and ``retry``, over whichever queue the database uses: procrastinate's
on PostgreSQL (errors from ``job_runs``), the in-process ``job_runs`` on SQLite. Also the
choice of runner for ``plugboard serve``."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from plugboard.errors import NotFound
from plugboard.records.notifications import JobInfo
from plugboard.usecases.runtime import Runtime

__all__ = ["jobs_in_serve", "list_jobs", "retry_job", "run_task_now"]

_PG_STATUS = {"todo": "queued", "doing": "running", "failed": "failed", "succeeded": "succeeded"}
_DEFAULT = ("queued", "running", "failed")


def jobs_in_serve(runtime: Runtime) -> bool:
    """Whether ``plugboard serve`` runs the jobs itself (default: on SQLite only)."""
    chosen = runtime.settings.jobs_in_serve
    return runtime.database.backend == "sqlite" if chosen is None else chosen


def _on_postgres(runtime: Runtime) -> bool:
    return runtime.database.backend == "postgresql"


def list_jobs(
    runtime: Runtime, statuses: Collection[str] = _DEFAULT, *, limit: int = 100
) -> list[JobInfo]:
    """Jobs in ``statuses`` (queued, running, failed, succeeded), newest first, with errors."""
    if _on_postgres(runtime):
        return _pg_list(runtime, statuses, limit)
    with runtime.unit(write=False) as unit:
        runs = unit.job_runs.list(statuses, limit=limit)
    return [
        JobInfo(
            id=r.id,
            task=r.task,
            status=r.status,
            attempts=r.attempts,
            error=r.error,
            scheduled_at=r.run_after,
            queue="in-process",
        )  # fmt: skip
        for r in runs
    ]


def _pg_jobs(runtime: Runtime) -> Any:
    """procrastinate's job manager on the database, opened synchronously."""
    import procrastinate

    from plugboard.jobs.pg import conninfo, ensure_schema

    ensure_schema(runtime.database.url)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(runtime.database.url))
    )
    return app.open()


def _pg_list(runtime: Runtime, statuses: Collection[str], limit: int) -> list[JobInfo]:
    app = _pg_jobs(runtime)
    try:
        jobs = [
            job
            for status, ours in _PG_STATUS.items()
            if ours in statuses
            for job in app.job_manager.list_jobs(status=status)
        ]
    finally:
        app.close()
    jobs = sorted(jobs, key=lambda j: j.id, reverse=True)[:limit]
    with runtime.unit(write=False) as unit:
        errors = unit.job_runs.errors_of([f"pcr_{j.id}" for j in jobs])
    return [
        JobInfo(
            id=str(j.id),
            task=j.task_name,
            status=_PG_STATUS[j.status],
            attempts=j.attempts,
            error=errors.get(f"pcr_{j.id}") if j.status == "failed" else None,
            scheduled_at=j.scheduled_at,
            queue="procrastinate",
        )  # fmt: skip
        for j in jobs
    ]


def retry_job(runtime: Runtime, job_id: str) -> JobInfo:
    """Queue a failed job again, to run now."""
    if _on_postgres(runtime):
        if not job_id.isdigit():
            raise NotFound("failed job", job_id)
        app = _pg_jobs(runtime)
        try:
            if not app.job_manager.list_jobs(id=int(job_id), status="failed"):
                raise NotFound("failed job", job_id)
            app.job_manager.retry_job_by_id(int(job_id), retry_at=datetime.now(UTC))
            job = app.job_manager.list_jobs(id=int(job_id))[0]
        finally:
            app.close()
        return JobInfo(
            id=job_id, task=job.task_name, status=_PG_STATUS[job.status], attempts=job.attempts,
            error=None, scheduled_at=job.scheduled_at, queue="procrastinate",
        )  # fmt: skip
    with runtime.unit() as unit:
        run = unit.job_runs.retry(job_id, unit.now())
    if run is None:
        raise NotFound("failed job", job_id)
    return JobInfo(
        id=run.id, task=run.task, status=run.status, attempts=run.attempts, error=None,
        scheduled_at=run.run_after, queue="in-process",
    )  # fmt: skip


def run_task_now(runtime: Runtime, task: str) -> object:
    """Run one registered task in this process, now (``plugboard jobs run``)."""
    from plugboard.jobs.tasks import TASKS, JobContext

    if task not in TASKS:
        raise NotFound("task", task)
    context = JobContext(runtime)
    try:
        return TASKS[task].run(context)
    finally:
        context.close()
