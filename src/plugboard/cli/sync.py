"""`plugboard sync run DATASOURCE [--wait]` and `plugboard sync show SYNC`: ask for a datasource's
sync (SPEC §8) and follow it. With ``--wait`` a progress display shows the pages and records as
they arrive: embedded, this process runs the sync itself (through the same invoke and store as
the job, with its progress callback; the database still decides that it runs once); with
``--server`` it polls the sync's state on the server."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import AsOption, JsonOption, WorkspaceOption, client_for
from plugboard.cli.datasources import DatasourceArg, datasource_id
from plugboard.cli.output import err, out, print_json, when

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.progress import Progress, TaskID

    from plugboard.client.local import LocalClient
    from plugboard.client.remote import RemoteClient
    from plugboard.domain.datasources import Sync
    from plugboard.records.datasources import SyncPublic

sync_app = typer.Typer(
    help="Datasource syncs: pull the latest records of a datasource's module (never writes back).",
    no_args_is_help=True,
)
POLL_SECONDS = 0.5
SLOT_WAIT_SECONDS = 60.0


def _finish(done: SyncPublic, json_: bool) -> None:
    if json_:
        print_json(done.model_dump(mode="json"))
    else:
        out.print(
            f"sync {done.id} {done.status}: {done.pages} pages, {done.records_seen} records "
            f"({done.records_changed} new or changed, {done.records_removed} removed)",
            markup=False,
        )
    if done.status == "failed":
        err.print(f"error: {done.error} (retryable: run the sync again)", markup=False)
        raise typer.Exit(1)


def _follow_embedded(client: LocalClient, sync_id: str, show: Callable[[SyncPublic], None]) -> None:
    from plugboard.usecases.datasource_service import sync_record
    from plugboard.usecases.sync import run_sync

    def progress(current: Sync) -> None:
        with client.runtime.unit(write=False) as unit:
            show(sync_record(unit, current))

    run_sync(client.runtime, client.invoker, sync_id, progress=progress,
             slot_wait=SLOT_WAIT_SECONDS)  # fmt: skip


def _poll(client: LocalClient | RemoteClient, sync_id: str, show: Callable[[SyncPublic], None]
          ) -> SyncPublic:  # fmt: skip
    while True:
        current = client.datasources.get_sync(sync_id)
        show(current)
        if current.status not in ("queued", "ongoing"):
            return current
        time.sleep(POLL_SECONDS)


def _updater(progress: Progress, task: TaskID) -> Callable[[SyncPublic], None]:
    def show(s: SyncPublic) -> None:
        progress.update(
            task, description=f"{s.status:9}",
            pages=s.pages, records=s.records_seen, changed=s.records_changed,
        )  # fmt: skip

    return show


@sync_app.command("run")
def sync_run(
    datasource: DatasourceArg,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the sync to its end with a progress display.")
    ] = False,
    for_user: Annotated[
        str | None,
        typer.Option(
            "--for-user",
            help="The member it runs for (an app token or the operator; default: you, or the "
            "primary account).",
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Ask for a sync of DATASOURCE (its id or APP/NAME). When one is queued or running already,
    you are shown that one and the time of the last completed sync; a member may sync a
    datasource once per 24 hours."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from plugboard.client.local import LocalClient

    with client_for(as_user, workspace) as client:
        asked = client.datasources.sync(datasource_id(client, datasource), as_user=for_user)
        if not asked.started and not json_:
            out.print(
                f"A sync of this datasource is {asked.sync.status} already (asked at "
                f"{when(asked.sync.created_at)}; last completed "
                f"{when(asked.last_completed_at) or 'never'}).",
                markup=False,
            )
        if not wait:
            if json_:
                print_json(asked.model_dump(mode="json"))
            else:
                out.print(f"sync {asked.sync.id} {asked.sync.status}", markup=False)
            return
        columns = (
            SpinnerColumn(), TextColumn("{task.description}"),
            TextColumn("pages {task.fields[pages]}  records {task.fields[records]}  "
                       "changed {task.fields[changed]}"),
            TimeElapsedColumn(),
        )  # fmt: skip
        with Progress(*columns, console=err, disable=json_, transient=False) as progress:
            task = progress.add_task("queued", pages=0, records=0, changed=0, total=None)
            show = _updater(progress, task)
            if isinstance(client, LocalClient):
                _follow_embedded(client, asked.sync.id, show)
            done = _poll(client, asked.sync.id, show)
    _finish(done, json_)


@sync_app.command("show")
def sync_show(
    sync_id: Annotated[str, typer.Argument(help="The sync's id.")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """A sync's state: queued, ongoing, completed or failed, with its pages and records."""
    with client_for(as_user, workspace) as client:
        found = client.datasources.get_sync(sync_id)
    if json_:
        print_json(found.model_dump(mode="json"))
        return
    for label, value in [
        ("status", found.status), ("requested by", found.requested_by or "(primary account)"),
        ("asked", when(found.created_at)), ("finished", when(found.finished_at)),
        ("pages", found.pages), ("records seen", found.records_seen),
        ("changed", found.records_changed), ("removed", found.records_removed),
        ("error", found.error or "-"),
    ]:  # fmt: skip
        out.print(f"  {label:13} {value}", markup=False)
