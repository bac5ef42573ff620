"""The in-process runner: the embedded default (SQLite) runs its jobs inside ``plugboard serve``
(or a standalone ``plugboard worker``), with no extra service.

Its queue is the ``job_runs`` table (store/job_runs.py). Each tick it queues one run of every
periodic task for the current period (unique per period, so several runners sharing a database
queue it once); then it claims due runs one at a time with a lease it renews while the task
runs. A runner killed mid-task (``kill -9``) stops renewing: once the lease lapses another
runner -- or the same one restarted -- claims the run and runs it again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Mapping
from datetime import timedelta

from plugboard.jobs.tasks import TASKS, JobContext, Task
from plugboard.usecases.runtime import Runtime

__all__ = ["InProcessRunner", "period_key"]

log = logging.getLogger("plugboard.jobs")


def period_key(epoch_seconds: float, tick_seconds: int) -> str:
    return str(int(epoch_seconds // tick_seconds))


class InProcessRunner:
    """Runs the registered tasks in a background thread until :meth:`stop`."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        tasks: Mapping[str, Task] | None = None,
        name: str | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        self._runtime = runtime
        self._tasks = dict(tasks if tasks is not None else TASKS)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        settings = runtime.settings
        self._tick = settings.jobs_tick_seconds
        self._lease = timedelta(seconds=settings.job_lease_seconds)
        self._poll = poll_seconds or min(1.0, self._tick / 2)
        self._context = JobContext(runtime)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # how many runs this runner finished (for tests and logs)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="plugboard-jobs", daemon=True)
        self._thread.start()
        log.info("in-process jobs started (%s, tick %d s)", self.name, self._tick)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the task in progress (if any) ends; the context is closed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._context.close()

    def run_forever(self) -> None:
        """Run in the calling thread until :meth:`stop` is called from another (or Ctrl-C)."""
        try:
            self._loop()
        finally:
            self._context.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.queue_periodic()
                while not self._stop.is_set() and self.run_next():
                    pass
            except Exception:  # a database outage: log it and try again next poll
                log.exception("in-process jobs: the runner loop failed; retrying")
            self._stop.wait(self._poll)

    # -- steps (public so tests can drive a runner on an injected clock) ------------------------

    def queue_periodic(self) -> int:
        """Queue this period's run of each periodic task (once per period across runners)."""
        queued = 0
        with self._runtime.unit() as unit:
            now = unit.now()
            key = period_key(now.timestamp(), self._tick)
            for task in self._tasks.values():
                if task.periodic and unit.job_runs.enqueue(task.name, now, period_key=key):
                    queued += 1
        return queued

    def run_next(self) -> bool:
        """Claim and run one due run; False when none is due."""
        with self._runtime.unit() as unit:
            run = unit.job_runs.claim(self.name, unit.now(), self._lease, tasks=self._tasks)
        if run is None:
            return False
        task = self._tasks[run.task]
        renewing = threading.Event()
        keeper = threading.Thread(
            target=self._renew, args=(run.id, renewing), name=f"lease-{run.id}", daemon=True
        )
        keeper.start()
        error: str | None = None
        try:
            task.run(self._context)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("job %s (%s) failed: %s", run.id, run.task, error)
            log.debug("%s", traceback.format_exc())
        finally:
            renewing.set()
            keeper.join()
        with self._runtime.unit() as unit:
            unit.job_runs.finish(run.id, self.name, unit.now(), error=error)
        self.runs += 1
        return True

    def _renew(self, run_id: str, done: threading.Event) -> None:
        interval = self._lease.total_seconds() / 3
        while not done.wait(interval):
            try:
                with self._runtime.unit() as unit:
                    if not unit.job_runs.renew(run_id, self.name, unit.now(), self._lease):
                        return
            except Exception:
                log.exception("could not renew the lease of job %s", run_id)
