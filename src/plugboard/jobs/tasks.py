"""The tasks both runners run, and what they run with.

A task is a function of a :class:`JobContext` (the process's runtime, refresh coordinator and
invoker) that calls usecases; it must be idempotent. Periodic tasks run once per
``jobs_tick_seconds`` across all workers. Register more with :func:`register` (before a runner
starts): the in-process runner and procrastinate read the same registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from plugboard.usecases.invoke import Invoker
from plugboard.usecases.notification_mail import send_due_emails
from plugboard.usecases.notifications import dispatch_events
from plugboard.usecases.refresh import RefreshCoordinator
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.sync import SYNC_TASK
from plugboard.usecases.sync_jobs import run_queued_syncs
from plugboard.usecases.token_upkeep import refresh_due_tokens
from plugboard.usecases.webhook_delivery import run_webhooks

__all__ = ["TASKS", "JobContext", "Task", "register"]


@dataclass
class JobContext:
    """What a task runs with, one per worker process (or per in-process runner)."""

    runtime: Runtime
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @cached_property
    def coordinator(self) -> RefreshCoordinator:
        """The process's refresh coordinator: the same single-flight refresh invoke uses."""
        coordinator = RefreshCoordinator(self.runtime)
        self._closers.append(coordinator.close)
        return coordinator

    @cached_property
    def invoker(self) -> Invoker:
        """The process's invoker, for tasks that call services (datasource syncs): its kept-alive
        connections and cached resolutions last from one run of a task to the next."""
        invoker = Invoker(self.runtime)
        self._closers.append(invoker.close)
        return invoker

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    run: Callable[[JobContext], object]
    periodic: bool = True
    summary: str = ""


TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    if task.name in TASKS and TASKS[task.name] is not task:
        raise ValueError(f"a task named {task.name!r} is registered already")
    TASKS[task.name] = task
    return task


def _refresh(context: JobContext) -> object:
    return refresh_due_tokens(context.runtime, context.coordinator)


def _dispatch(context: JobContext) -> object:
    return dispatch_events(context.runtime)


def _email(context: JobContext) -> object:
    return send_due_emails(context.runtime)


def _syncs(context: JobContext) -> object:
    return run_queued_syncs(context.runtime, context.invoker)


def _webhooks(context: JobContext) -> object:
    return run_webhooks(context.runtime)


def _prune(context: JobContext) -> object:
    with context.runtime.unit() as unit:
        return unit.job_runs.prune(unit.now() - timedelta(days=1))


register(Task("refresh_tokens", _refresh, summary="refresh OAuth 2 tokens before they expire"))
register(Task("dispatch_notifications", _dispatch, summary="turn events into notifications"))
register(Task("send_notification_email", _email, summary="send notification e-mail"))
register(Task("deliver_webhooks", _webhooks, summary="turn events into signed webhook deliveries"))
register(Task("prune_job_runs", _prune, summary="forget finished job runs after a day"))
# Queued at once on SQLite by request_sync (usecases/sync.py); every tick everywhere.
register(Task(SYNC_TASK, _syncs, summary="run the datasource syncs that are queued"))
