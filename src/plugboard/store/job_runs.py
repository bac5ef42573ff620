"""Background job runs (jobs/): the queue of the in-process runner on SQLite, and the place
where procrastinate's job errors are kept on PostgreSQL (procrastinate stores none).

The in-process queue is a claim with a lease: :meth:`JobRunRepository.claim` takes a queued run,
or a running one whose lease expired (its worker died: ``kill -9``), in one write transaction,
so two runners never hold the same run. A periodic run is unique per (task, period).

:meth:`JobRunRepository.wake` asks for a task to run now (a requested sync), in the transaction
of the request: on SQLite a queued run; on PostgreSQL a job in procrastinate's queue, through
its versioned SQL function, which the workers hear about (LISTEN/NOTIFY) when the request
commits -- instead of at the next tick of the periodic schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from plugboard.domain.ids import new_sortable_id
from plugboard.store.tables import job_runs

__all__ = ["JobRun", "JobRunRepository"]

ERROR_MAX = 2000
log = logging.getLogger("plugboard.jobs")
# A run already waiting (the queueing lock's unique index); no procrastinate schema yet (its
# function or type is unknown).
_EXPECTED = frozenset({"23505", "42883", "42704"})

# procrastinate's own defer (its tasks are registered by name, with lock and queueing lock the
# task's name: jobs/pg.py); the task takes no arguments but the periodic timestamp's default.
_DEFER_NOW = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('default', CAST(:task AS text), 0, "
    "CAST(:task AS text), CAST(:task AS text), '{}'::jsonb, NULL)::procrastinate_job_to_defer_v1])"
)


@dataclass(frozen=True, slots=True)
class JobRun:
    id: str
    task: str
    period_key: str | None
    status: str
    attempts: int
    error: str | None
    run_after: datetime
    lease_until: datetime | None
    worker: str | None
    created_at: datetime
    updated_at: datetime


def _run(row: Any) -> JobRun:
    return JobRun(**{f: getattr(row, f) for f in JobRun.__dataclass_fields__})


class JobRunRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def wake(self, task: str, now: datetime) -> None:
        """Have ``task`` run now (see the module's note). On PostgreSQL, a run of the task
        already waiting keeps its place (procrastinate's queueing lock: that run sees what this
        transaction wrote), and without procrastinate's schema (no worker has started yet) the
        periodic schedule runs it once one does: neither undoes the caller's transaction."""
        if self._conn.dialect.name != "postgresql":
            self.enqueue(task, now)
            return
        try:
            with self._conn.begin_nested():
                self._conn.execute(_DEFER_NOW, {"task": task})
        except DBAPIError as exc:  # the savepoint is rolled back; the caller's work stands
            if getattr(exc.orig, "sqlstate", None) not in _EXPECTED:
                log.warning("could not queue %s to run now (%s): the schedule runs it", task,
                            type(exc.orig).__name__)  # fmt: skip

    def _insert(self) -> Any:
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(job_runs)

    def enqueue(
        self,
        task: str,
        now: datetime,
        *,
        period_key: str | None = None,
        run_after: datetime | None = None,
    ) -> str | None:
        """Queue a run; with ``period_key``, only if that period has none yet (then None)."""
        run_id = new_sortable_id("job")
        statement = self._insert().values(
            id=run_id, task=task, period_key=period_key, status="queued", attempts=0,
            run_after=run_after or now, created_at=now, updated_at=now,
        )  # fmt: skip
        if period_key is not None:
            statement = statement.on_conflict_do_nothing(index_elements=["task", "period_key"])
        # RETURNING, not rowcount: psycopg reports no count for ON CONFLICT DO NOTHING.
        inserted = self._conn.execute(statement.returning(job_runs.c.id)).first()
        return run_id if inserted is not None else None

    def claim(
        self, worker: str, now: datetime, lease: timedelta, *, tasks: Collection[str]
    ) -> JobRun | None:
        """Take the oldest due run of ``tasks``: queued, or running with an expired lease."""
        query = (
            select(job_runs)
            .where(
                job_runs.c.task.in_(list(tasks)),
                or_(
                    and_(job_runs.c.status == "queued", job_runs.c.run_after <= now),
                    and_(job_runs.c.status == "running", job_runs.c.lease_until < now),
                ),
            )
            .order_by(job_runs.c.run_after, job_runs.c.id)
            .limit(1)
        )
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = self._conn.execute(query).first()
        if row is None:
            return None
        self._conn.execute(
            update(job_runs)
            .where(job_runs.c.id == row.id)
            .values(
                status="running", attempts=job_runs.c.attempts + 1, lease_until=now + lease,
                worker=worker[:100], updated_at=now,
            )
        )  # fmt: skip
        return self.get(row.id)

    def renew(self, run_id: str, worker: str, now: datetime, lease: timedelta) -> bool:
        """Extend a held lease; False when the run is no longer this worker's."""
        result = self._conn.execute(
            update(job_runs)
            .where(
                job_runs.c.id == run_id,
                job_runs.c.status == "running",
                job_runs.c.worker == worker[:100],
            )
            .values(lease_until=now + lease, updated_at=now)
        )
        return bool(result.rowcount)

    def finish(self, run_id: str, worker: str, now: datetime, *, error: str | None) -> None:
        """Record how a held run ended (no-op when another worker took it over)."""
        self._conn.execute(
            update(job_runs)
            .where(job_runs.c.id == run_id, job_runs.c.worker == worker[:100])
            .values(
                status="failed" if error else "succeeded",
                error=error[:ERROR_MAX] if error else None,
                lease_until=None,
                updated_at=now,
            )
        )

    def retry(self, run_id: str, now: datetime) -> JobRun | None:
        """Queue a failed run again; None when there is no such failed run."""
        result = self._conn.execute(
            update(job_runs)
            .where(job_runs.c.id == run_id, job_runs.c.status == "failed")
            .values(status="queued", run_after=now, lease_until=None, updated_at=now)
        )
        return self.get(run_id) if result.rowcount else None

    def get(self, run_id: str) -> JobRun | None:
        row = self._conn.execute(select(job_runs).where(job_runs.c.id == run_id)).first()
        return _run(row) if row else None

    def list(self, statuses: Collection[str], *, limit: int = 100) -> list[JobRun]:
        query = (
            select(job_runs)
            .where(job_runs.c.status.in_(list(statuses)))
            .order_by(job_runs.c.id.desc())
            .limit(limit)
        )
        return [_run(r) for r in self._conn.execute(query)]

    def errors_of(self, run_ids: Collection[str]) -> dict[str, str]:
        if not run_ids:
            return {}
        query = select(job_runs.c.id, job_runs.c.error).where(
            job_runs.c.id.in_(list(run_ids)), job_runs.c.error.is_not(None)
        )
        return {r.id: r.error for r in self._conn.execute(query)}

    def record_error(
        self, run_id: str, task: str, error: str, attempts: int, now: datetime
    ) -> None:
        """Keep the error of a job another queue runs (procrastinate), under ``run_id``."""
        values = {
            "id": run_id, "task": task, "status": "failed", "attempts": attempts,
            "error": error[:ERROR_MAX], "run_after": now, "created_at": now, "updated_at": now,
        }  # fmt: skip
        statement = self._insert().values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["id"],
            set_={"error": values["error"], "attempts": attempts, "updated_at": now},
        )
        self._conn.execute(statement)

    def prune(self, before: datetime) -> int:
        """Forget finished runs last touched before ``before``."""
        result = self._conn.execute(
            delete(job_runs).where(job_runs.c.status == "succeeded", job_runs.c.updated_at < before)
        )
        return int(result.rowcount)
