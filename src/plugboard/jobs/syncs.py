"""The datasource sync job (SPEC §8, §12): registered with the other tasks when this module is
imported (by the REST API and the CLI), run by both runners like them."""

from __future__ import annotations

from plugboard.jobs.tasks import TASKS, JobContext, Task, register
from plugboard.usecases.sync import SYNC_TASK
from plugboard.usecases.sync_jobs import run_queued_syncs

__all__ = ["SYNC_JOB"]


def _run(context: JobContext) -> object:
    return run_queued_syncs(context.runtime)


SYNC_JOB = TASKS.get(SYNC_TASK) or register(
    Task(SYNC_TASK, _run, summary="run the datasource syncs that are queued")
)
