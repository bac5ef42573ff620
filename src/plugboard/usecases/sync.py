"""Integration-field sync (SPEC §8): ask for one (:func:`request_sync`) and run it
(:func:`run_sync`, which the ``run_syncs`` job calls; see usecases/sync_jobs.py).

Asking is decided while the datasource's row is locked: a datasource whose sync is queued or
ongoing is not synced again (the caller gets that sync and the time of the most recent one);
otherwise a user gets one sync per datasource per 24 hours (a failed one does not count: it may
be tried again). The database holds the rules (store/datasources.py), so they hold across
processes.

Running pulls every page through the connection with the real invoke (its resolution cache,
refresh and retries), as the datasource's app, for the user who asked (or no user: the primary
account of a user-level connection). Pages are upserted by record id, in batches of pages each
in one transaction with the sync's progress, in a writer thread while the next pages are
fetched (usecases/sync_writer.py); only new and changed records are written. A failure leaves
the sync `failed` with its error (also in the audit log) and the records written so far, which
the next sync converges on -- never duplicates. It never writes to the service.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx2

from plugboard.domain.datasources import (
    SYNC_WINDOW,
    Sync,
    SyncStatus,
    needs_configuration,
)
from plugboard.domain.events import EventType
from plugboard.domain.naming import check_email
from plugboard.domain.pagination import PageRequest, first_page, next_page
from plugboard.domain.principal import Principal
from plugboard.errors import Conflict, NotFound, PlugboardError, RateLimited, UpstreamError
from plugboard.store.unit import Unit
from plugboard.usecases.apps import audit, require_app_user
from plugboard.usecases.datasources import (
    ID_MAX,
    DatasourceView,
    check_usable,
    datasource_by_id,
    view,
    view_of,
)
from plugboard.usecases.events import record_event
from plugboard.usecases.identity import find_member
from plugboard.usecases.invoke import Invoker
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import service_entry
from plugboard.usecases.sync_pages import Page
from plugboard.usecases.sync_writer import PageWriter

SLOT_LEASE = timedelta(minutes=5)  # a run that stops renewing (its process died) frees its slot
SYNC_TASK = "run_syncs"

Progress = Callable[[Sync], None]


@dataclass(frozen=True, slots=True)
class SyncRequest:
    sync: Sync
    started: bool  # False: a sync of the datasource was queued or ongoing already
    last_completed_at: datetime | None


def _requester(
    unit: Unit, actor: Principal, found: DatasourceView, as_user: str | None
) -> str | None:
    """The user the sync runs for: the member asking, or the one an app token or the operator
    names; None (no user: the primary account) for an app or the operator naming nobody."""
    if as_user is None:
        return None if (actor.is_app or actor.is_operator) else actor.user_id
    if not (actor.is_app or actor.is_operator or actor.acts_for_users):
        if check_email(as_user, "as_user") != actor.email:
            raise Conflict("a member syncs for themselves only", {"rule": "as_user"})
        return actor.user_id
    ws = unit.workspaces.by_id(found.app.workspace_id)
    member = find_member(unit, ws, check_email(as_user, "as_user"))
    require_app_user(unit, found.app, member.user.id, member.role)
    return member.user.id


def request_sync(
    unit: Unit, actor: Principal, datasource_id: str, *, as_user: str | None = None
) -> SyncRequest:
    found = datasource_by_id(unit, actor, datasource_id)
    user_id = _requester(unit, actor, found, as_user)
    datasource = unit.datasources.lock(found.datasource.id)
    active = unit.datasources.active_sync(datasource.id)
    if active is not None:
        return SyncRequest(active, False, datasource.last_completed_at)
    check_usable(unit, view(unit, found.app, datasource), user_id)
    if needs_configuration(found.module, datasource):
        raise Conflict(
            f"datasource {datasource.name!r} must be configured before it syncs",
            {"rule": "not_configured"},
        )
    now = unit.now()
    counted = unit.datasources.counted_sync_since(datasource.id, user_id, now - SYNC_WINDOW)
    if counted is not None:
        wait = counted.created_at + SYNC_WINDOW - now
        raise RateLimited(
            f"datasource {datasource.name!r} was synced for this user at "
            f"{counted.created_at.isoformat()}: once per 24 hours (once_per_24_hours)",
            retry_after=max(1, int(wait.total_seconds())),
        )
    sync = unit.datasources.add_sync(datasource, user_id, now)
    if sync is None:  # another process queued one a moment ago
        raced = unit.datasources.active_sync(datasource.id)
        if raced is None:
            raise Conflict("the sync could not be queued; try again", {"rule": "race"})
        return SyncRequest(raced, False, datasource.last_completed_at)
    audit(
        unit,
        actor,
        "datasource.sync.request",
        found.app,
        {"datasource": datasource.name, "sync": sync.id},
    )
    unit.job_runs.wake(SYNC_TASK, now)  # run now, not at the next tick of the schedule
    return SyncRequest(sync, True, datasource.last_completed_at)


def sync_status(unit: Unit, actor: Principal, sync_id: str) -> tuple[DatasourceView, Sync]:
    if len(sync_id) > ID_MAX or "\x00" in sync_id:  # PostgreSQL refuses a NUL in text
        raise NotFound("sync", sync_id)
    sync = unit.datasources.sync(sync_id)
    try:
        found = datasource_by_id(unit, actor, sync.datasource_id)
    except NotFound:
        raise NotFound("sync", sync_id) from None
    return found, sync


# -- running ------------------------------------------------------------------------------------


def _claim(unit: Unit, sync_id: str) -> Sync | None:
    """Start the sync in a slot: None when it is not to be run here (finished, run by another
    process) or no slot is free."""
    now = unit.now()
    if unit.sync_slots.claim(sync_id, now, SLOT_LEASE) is None:
        # Not queued or ongoing, no slot free, or this sync holds one: slots are taken back
        # first from runs that stopped renewing theirs (this sync's own, when its process died).
        unit.sync_slots.free_lapsed(now)
        if unit.sync_slots.claim(sync_id, now, SLOT_LEASE) is None:
            return None
    started = unit.datasources.start_sync(sync_id, now)
    if started is None:  # finished meanwhile (by a process that had it, its lease lapsed)
        unit.sync_slots.release(sync_id)
        return None
    if started.attempts > 1:
        # Taken over from a run that stopped: what it wrote may differ from what the last
        # completed sync's pages say, so none of those pages may be skipped.
        unit.datasource_pages.forget(started.datasource_id)
    return started


@dataclass(frozen=True, slots=True)
class _Run:
    """What a claimed sync pulls: read in the transaction that claims it."""

    sync: Sync
    found: DatasourceView
    actor: Principal
    workspace: str
    as_user: str | None
    page_digests: set[str]  # of the last completed sync's pages (none after a takeover)


def _run_of(unit: Unit, sync: Sync) -> _Run:
    read = unit.sync_runs.read(sync.datasource_id, sync.requested_by)
    if read is None:
        raise NotFound("datasource", sync.datasource_id)
    if sync.requested_by is not None and read.user_email is None:
        raise NotFound("user", sync.requested_by)
    service = service_entry(read.custom_service, read.connection.service_link_name).definition
    found = view_of(read.datasource, read.app, read.connection, service)
    ws, as_user, app = read.workspace, read.user_email, read.app
    actor = Principal(
        None, None, ws.id, ws.kind, None, via="sync", app_id=app.id, app_link_name=app.link_name
    )
    return _Run(sync, found, actor, ws.name, as_user, read.page_digests)


def run_sync(
    runtime: Runtime,
    invoker: Invoker,
    sync_id: str,
    *,
    progress: Progress | None = None,
    slot_wait: float = 0.0,
) -> Sync:
    """Run a queued sync (or take over one whose process died) to `completed` or `failed`.
    Waits up to ``slot_wait`` seconds for one of the ten slots; returns the sync as it is when
    it is not run here (still queued, or finished or running elsewhere)."""
    deadline = time.monotonic() + slot_wait
    run: _Run | PlugboardError | None = None
    while True:
        # The claim and what the run needs, in one transaction: on PostgreSQL each
        # transaction costs round trips that a sync of a few pages notices.
        with runtime.unit() as unit:
            claimed = _claim(unit, sync_id)
            current = claimed or unit.datasources.sync(sync_id)
            if claimed is not None:
                try:
                    run = _run_of(unit, claimed)
                except PlugboardError as exc:  # claimed still: it fails below
                    run = exc
        if claimed is not None or not current.status.active or time.monotonic() >= deadline:
            break
        if current.status is SyncStatus.ONGOING:
            return current
        time.sleep(0.05)
    if claimed is None:
        return current
    if isinstance(run, PlugboardError):
        return _fail(runtime, claimed, run.message)
    assert run is not None
    try:
        return _pull(runtime, invoker, run, progress)
    except PlugboardError as exc:
        return _fail(runtime, claimed, exc.message)
    except Exception as exc:
        _fail(runtime, claimed, f"internal error ({type(exc).__name__})")
        raise


def _pull(runtime: Runtime, invoker: Invoker, run: _Run, progress: Progress | None) -> Sync:
    sync, found = run.sync, run.found
    datasource = found.datasource
    module, config = found.module, datasource.config or {}
    writer = PageWriter(runtime, sync, SLOT_LEASE, progress, run.page_digests)

    async def fetch() -> None:
        request: PageRequest | None = first_page(module, config)
        while request is not None:
            response = await invoker.ainvoke(
                run.actor, _page_url(request), "GET", connection=found.connection.link_name,
                environment=datasource.environment.value, as_user=run.as_user,
                workspace=run.workspace,
            )  # fmt: skip
            body = _json(response, request.number)
            page = Page(module, body, request.number, response.content)
            link = response.headers.get("link")
            following = next_page(module, request, page.body, link, page)
            await writer.aput(page)  # reduced and written while the next page is fetched
            request = following

    try:
        invoker.run_async(fetch())
    except BaseException:
        # The pages before the failure are written first. A page the writer refused (its
        # records, reduced there, or its write) came before this failure: its error is the one.
        writer.close()
        raise
    writer.close(store_progress=False)  # the completion stores the final counts
    pages, seen, changed = writer.pages, writer.seen, writer.changed
    with runtime.unit() as unit:
        done, stored = unit.datasources.complete_sync(
            sync.id, datasource.id, unit.now(), (pages, seen, changed)
        )
        removed = unit.datasource_records.remove_unseen(
            datasource.id, writer.seen_ids, stored=stored
        )
        if removed:
            done = unit.datasources.update_sync(sync.id, records_removed=removed)
        unit.datasource_pages.replace(datasource.id, writer.trusted_digests(), writer.known_digests)
        detail = {
            "datasource": datasource.name, "sync": sync.id, "pages": pages,
            "records_seen": seen, "records_changed": changed, "records_removed": removed,
        }  # fmt: skip
        _finished(unit, found, EventType.SYNC_COMPLETED, "ok", detail)
    if progress is not None:
        progress(done)
    return done


def _page_url(request: PageRequest) -> str:
    """The page's URL with its parameters in the query, as httpx2 encodes ``params``: sent
    that way, a page's request is parsed once instead of twice (httpx2 parses a URL again to
    merge parameters into it) -- a tenth of the CPU a page costs the fetching thread."""
    if not request.params:
        return request.url
    if "?" not in request.url:  # a module's path has none (domain/service/modules.py)
        return f"{request.url}?{httpx2.QueryParams(request.params)}"
    return str(httpx2.Request("GET", request.url, params=request.params).url)  # as before


def _json(response: httpx2.Response, page: int) -> object:
    if response.status_code >= 400:
        raise UpstreamError(f"page {page}: the service answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise UpstreamError(f"page {page}: the answer is not JSON") from None


def _fail(runtime: Runtime, sync: Sync, error: str) -> Sync:
    with runtime.unit() as unit:
        current = unit.datasources.update_sync(
            sync.id, status=SyncStatus.FAILED.value, finished_at=unit.now(), error=error[:1000]
        )
        unit.sync_slots.release(sync.id)
        # What this sync wrote may differ from what the last completed sync's pages say.
        unit.datasource_pages.forget(sync.datasource_id)
        datasource = unit.datasources.by_id(sync.datasource_id)
        found = view(unit, unit.apps.by_id(datasource.app_id), datasource)
        detail = {"datasource": datasource.name, "sync": sync.id, "pages": current.pages,
                  "error": error[:300]}  # fmt: skip
        _finished(unit, found, EventType.SYNC_FAILED, "failed", detail)
    return current


def _finished(
    unit: Unit, found: DatasourceView, event: EventType, outcome: str, detail: dict[str, object]
) -> None:
    unit.record(
        actor=f"app:{found.app.link_name}", action="datasource.sync", object_type="datasource",
        object_id=found.datasource.id, workspace_id=found.app.workspace_id, outcome=outcome,
        detail={"app": found.app.link_name, **detail},
    )  # fmt: skip
    record_event(
        unit, event, workspace_id=found.app.workspace_id, actor=f"app:{found.app.link_name}",
        connection_id=found.connection.id, environment=found.datasource.environment.value,
        payload={"app": found.app.link_name, **detail},
    )  # fmt: skip
