"""Datasources over REST and the remote SDK, inside a served app that runs its jobs in-process
(as `plugboard serve` does on the embedded SQLite default; here on both databases): a sync asked
for over REST is run by the registered `run_syncs` job, its records page by record id, the
embedded client answers the same records, and the refusals arrive as the same errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import httpx2
import pytest

from plugboard.client.local import LocalClient
from plugboard.client.remote import RemoteClient
from plugboard.domain.clock import SystemClock
from plugboard.errors import Conflict, NotFound, PermissionDenied, RateLimited
from plugboard.records.datasources import SyncPublic
from plugboard.server.app import create_app
from plugboard.threaded_server import ThreadedServer
from plugboard.usecases import identity
from tests.integration.datasources.conftest import DsWorld


def _token(ds: DsWorld, name: str) -> str:
    with ds.runtime.unit() as unit:
        return identity.create_token(unit, ds.members(name), name="t").secret


@pytest.fixture
def served(ds: DsWorld) -> Iterator[tuple[DsWorld, str]]:
    server = ThreadedServer(None, name="plugboard", lifespan="on")
    base_url = server.bind()
    settings = ds.runtime.settings.model_copy(update={"base_url": base_url, "jobs_tick_seconds": 1})
    runtime = replace(ds.runtime, settings=settings, clock=SystemClock())
    server.app = create_app(settings, runtime=runtime, run_jobs=True)
    server.start()
    try:
        yield replace(ds, runtime=runtime), base_url
    finally:
        server.stop()


def _until_finished(pb: RemoteClient, sync_id: str, seconds: float = 30.0) -> SyncPublic:
    deadline = time.monotonic() + seconds
    while True:
        current = pb.datasources.get_sync(sync_id)
        if current.status not in ("queued", "ongoing"):
            return current
        if time.monotonic() > deadline:
            pytest.fail(f"the sync is still {current.status}")
        time.sleep(0.1)


def test_a_sync_asked_for_over_rest_runs_in_the_served_app(served: tuple[DsWorld, str]) -> None:
    ds, base_url = served
    ds.provider.state.records_total = 250
    with RemoteClient(base_url, _token(ds, "dev")) as pb:
        created = pb.datasources.create("crm", name="People", connection="records",
                                        module="cursor_list")  # fmt: skip
        assert (created.configurable, created.refusal, created.last_sync) == (True, None, None)
        asked = pb.datasources.sync(created.id)
        assert asked.started and asked.sync.requested_by == "dev@acme.test"
        done = _until_finished(pb, asked.sync.id)
        assert done.status == "completed", done.error
        assert (done.pages, done.records_seen, done.records_changed) == (3, 250, 250)

        shown = pb.datasources.get("crm", "People")
        assert shown.last_completed_at == done.finished_at and shown.last_sync == done
        assert [d.id for d in pb.datasources.list("crm")] == [created.id]

        ids: list[str] = []
        after: str | None = None
        while True:
            page = pb.datasources.records(created.id, after=after, limit=100)
            ids += [r.id for r in page.items]
            if page.next_cursor is None:
                break
            after = page.next_cursor
        assert ids == sorted(ids) and len(ids) == len(set(ids)) == 250
        with LocalClient(ds.runtime, principal=ds.dev) as local:
            assert local.datasources.records(created.id, limit=5) == pb.datasources.records(
                created.id, limit=5
            )
            assert local.datasources.get("crm", "People") == shown

        # The same member again inside 24 hours: refused with the time to wait.
        with pytest.raises(RateLimited) as refused:
            pb.datasources.sync(created.id)
        assert refused.value.retry_after is not None and refused.value.retry_after > 86000


def test_datasource_changes_and_refusals_over_rest(served: tuple[DsWorld, str]) -> None:
    ds, base_url = served
    with RemoteClient(base_url, _token(ds, "dev")) as pb:
        segment = pb.datasources.create("crm", name="Seg", connection="records", module="segment")
        assert segment.config is None and [f.key for f in segment.config_fields] == ["segment"]
        with pytest.raises(Conflict) as refused:
            pb.datasources.sync(segment.id)
        assert refused.value.details == {"rule": "not_configured"}
        assert pb.datasources.configure("crm", "Seg", {"segment": "cursor"}).config == {
            "segment": "cursor"
        }
        disabled = pb.datasources.disable("crm", "Seg")
        assert (disabled.enabled, disabled.configurable, disabled.refusal) == (
            False, False, "disabled",
        )  # fmt: skip
        with pytest.raises(Conflict) as refused:
            pb.datasources.configure("crm", "Seg", {"segment": "offset"})
        assert refused.value.details == {"rule": "disabled"}
        assert pb.datasources.enable("crm", "Seg").enabled

        old = pb.datasources.create("crm", name="Old", connection="records", module="old")
        assert (old.configurable, old.refusal) == (False, "module_deprecated")
        pb.datasources.delete("crm", "Old")
        with pytest.raises(NotFound):
            pb.datasources.get("crm", "Old")

    # A `user` not granted the app sees nothing of it; one granted may not manage datasources.
    with RemoteClient(base_url, _token(ds, "user")) as pb:
        with pytest.raises((NotFound, PermissionDenied)):
            pb.datasources.list("crm")
        with pytest.raises(NotFound):
            pb.datasources.records(segment.id)
    anonymous = httpx2.get(f"{base_url}/api/v1/datasources/{segment.id}/records")
    assert anonymous.status_code == 401


def test_values_that_cannot_be_stored_are_refused_not_a_500(served: tuple[DsWorld, str]) -> None:
    """PostgreSQL refuses a NUL byte in text outright: an id or name holding one is answered as
    not found, and a new name or a cursor holding one as invalid, on both databases."""
    ds, base_url = served
    source = ds.datasource().datasource.id
    headers = {"Authorization": f"Bearer {_token(ds, 'dev')}"}
    cases = [
        ("POST", "/datasources/%00/syncs", {}, 404),
        ("GET", "/syncs/%00", {}, 404),
        ("GET", "/datasources/%00/records", {}, 404),
        ("GET", f"/datasources/{'x' * 300}/records", {}, 404),
        ("GET", "/apps/crm/datasources/%00", {}, 404),
        ("GET", f"/datasources/{source}/records", {"params": {"cursor": "\x00"}}, 422),
        ("POST", "/apps/crm/datasources",
         {"json": {"name": "a\x00", "connection": "records", "module": "cursor_list"}}, 422),
    ]  # fmt: skip
    answered = [
        httpx2.request(method, f"{base_url}/api/v1{path}", headers=headers, **options).status_code
        for method, path, options, _ in cases
    ]
    assert answered == [status for *_, status in cases]
