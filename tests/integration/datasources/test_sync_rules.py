"""The rules of SPEC §8 as the database enforces them, on SQLite and PostgreSQL: ten syncs at
once, one run per datasource, one sync per user per 24 hours (injected clock), and
configuration refusals that change nothing."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from plugboard.domain.datasources import SyncStatus
from plugboard.errors import Conflict, RateLimited, ValidationError
from plugboard.store.tables import audit_events, datasource_syncs, datasources, sync_slots
from plugboard.usecases import datasources as ds_usecases
from plugboard.usecases.services import create_custom_service
from plugboard.usecases.sync import SLOT_LEASE
from tests.integration.datasources.conftest import DsWorld, records_service
from tests.support import snapshot


def test_eleven_syncs_started_at_once_run_at_most_ten_at_a_time(ds: DsWorld) -> None:
    ds.provider.state.records_total = 300
    ds.provider.state.records_delay = 0.15  # 3 pages: each sync runs ~0.5 s
    ids = [ds.datasource(f"list {i}").datasource.id for i in range(11)]
    syncs = [ds.request(ds.dev, i).sync.id for i in ids]
    most = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal most
        while not done.is_set():
            with ds.runtime.unit(write=False) as unit:
                most = max(most, unit.sync_slots.running())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    with ThreadPoolExecutor(11) as pool:
        results = list(pool.map(lambda s: ds.run(s, slot_wait=20), syncs))
    done.set()
    sampler.join()
    assert all(r.status is SyncStatus.COMPLETED for r in results)
    assert most == 10
    assert max(c for c in ds.provider.state.hits.values()) == 33


def test_two_users_syncing_one_datasource_run_it_once(ds: DsWorld) -> None:
    source = ds.datasource()
    users = [ds.dev, ds.members("admin"), ds.members("root"), ds.members("dev2")]
    barrier = threading.Barrier(len(users))

    def ask(actor: Any) -> Any:
        barrier.wait()
        return ds.request(actor, source.datasource.id)

    with ThreadPoolExecutor(len(users)) as pool:
        answers = list(pool.map(ask, users))
    assert sum(a.started for a in answers) == 1
    first = next(a for a in answers if a.started).sync
    assert {a.sync.id for a in answers} == {first.id}
    assert {a.sync.created_at for a in answers} == {first.created_at}
    ds.run(first.id)
    with ds.runtime.unit(write=False) as unit:
        assert len(unit.conn.execute(select(datasource_syncs)).all()) == 1
    assert ds.provider.state.hits["/api/apikey/records"] == 50


def test_a_sync_claimed_by_another_process_after_it_was_read_as_queued_is_not_run_again(
    ds: DsWorld,
) -> None:
    # What a second process sees when it read the sync as queued just before the first one
    # committed its claim: the sync still queued to it, its slot held. It must not run it too.
    source = ds.datasource()
    asked = ds.request(ds.dev, source.datasource.id)
    with ds.runtime.unit() as unit:
        unit.conn.execute(
            sync_slots.insert().values(
                slot=1, sync_id=asked.sync.id, lease_until=unit.now() + timedelta(minutes=5)
            )
        )
    before = snapshot(ds.runtime.database)
    result = ds.run(asked.sync.id)
    assert result.status is SyncStatus.QUEUED and result.attempts == 0
    assert ds.provider.state.hits.get("/api/apikey/records", 0) == 0
    assert snapshot(ds.runtime.database) == before


def test_a_finished_sync_run_again_is_left_as_it_is(ds: DsWorld) -> None:
    ds.provider.state.records_total = 100
    source = ds.datasource()
    done = ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    hits = dict(ds.provider.state.hits)
    before = snapshot(ds.runtime.database)
    again = ds.run(done.id)
    assert again == done and ds.provider.state.hits == hits
    assert snapshot(ds.runtime.database) == before


def test_a_sync_whose_process_died_is_taken_over_once_its_slot_lapses(ds: DsWorld) -> None:
    ds.provider.state.records_total = 100
    source = ds.datasource()
    asked = ds.request(ds.dev, source.datasource.id)
    with ds.runtime.unit() as unit:  # a run that claimed the sync, then its process died
        assert unit.sync_slots.claim(asked.sync.id, unit.now(), SLOT_LEASE) == 1
        assert unit.datasources.start_sync(asked.sync.id, unit.now()) is not None
    before = snapshot(ds.runtime.database)
    still = ds.run(asked.sync.id)  # its lease runs: it is running elsewhere
    assert still.status is SyncStatus.ONGOING and still.attempts == 1
    assert snapshot(ds.runtime.database) == before
    ds.runtime.clock.advance(SLOT_LEASE.total_seconds() + 1)  # type: ignore[attr-defined]
    done = ds.run(asked.sync.id)
    assert done.status is SyncStatus.COMPLETED and done.attempts == 2
    assert done.records_seen == 100 and ds.count(source.datasource.id) == 100
    with ds.runtime.unit(write=False) as unit:
        assert unit.sync_slots.running() == 0


def test_one_sync_per_user_per_datasource_per_24_hours_on_the_injected_clock(
    ds: DsWorld,
) -> None:
    ds.provider.state.records_total = 100
    source = ds.datasource()
    first = ds.request(ds.dev, source.datasource.id)
    ds.run(first.sync.id)
    ds.runtime.clock.advance(24 * 3600 - 60)  # type: ignore[attr-defined]
    with pytest.raises(RateLimited) as refused:
        ds.request(ds.dev, source.datasource.id)
    assert refused.value.retry_after == 60 and "once_per_24_hours" in refused.value.message
    other = ds.request(ds.members("admin"), source.datasource.id)  # another user may
    assert other.started and other.last_completed_at is not None
    ds.run(other.sync.id)
    ds.runtime.clock.advance(61)  # type: ignore[attr-defined]
    assert ds.request(ds.dev, source.datasource.id).started


def test_a_sync_without_a_user_needs_the_primary_account(ds: DsWorld) -> None:
    from plugboard.domain.principal import OPERATOR

    ds.connection("mine", level="user", authorize=False)
    source = ds.datasource("own", connection="mine")
    with pytest.raises(Conflict) as refused:
        ds.request(OPERATOR, source.datasource.id)
    assert refused.value.details == {"rule": "not_authorized"}


def _snapshot(ds: DsWorld) -> list[Any]:
    with ds.runtime.unit(write=False) as unit:
        return [unit.conn.execute(select(t)).all() for t in (datasources, audit_events)]


@pytest.mark.parametrize(
    "case, rule",
    [
        ("unauthorized", "not_authorized"),
        ("no_app_access", "no_app_access"),
        ("disabled", "disabled"),
        ("deprecated_service", "connection_deprecated"),
        ("deprecated_module", "module_deprecated"),
        ("bad_value", "config.segment"),
        ("unknown_key", "config.colour"),
    ],
)
def test_configuration_refusals_leave_the_store_unchanged(
    ds: DsWorld, case: str, rule: str
) -> None:
    module, connection, values = "segment", "records", {"segment": "abc"}
    if case == "unauthorized":
        ds.connection("bare", authorize=False)
        connection = "bare"
    elif case == "deprecated_service":
        with ds.runtime.unit() as unit:
            create_custom_service(
                unit, ds.dev, records_service(ds.provider.base_url, link="olds",
                                              deprecated="use recs"),
                http_hosts=["127.0.0.1"],
            )  # fmt: skip
        ds.connection("legacy", service="olds")
        connection = "legacy"
    elif case == "deprecated_module":
        module = "old"
    elif case == "bad_value":
        values = {"segment": "ABC/../x"}
    elif case == "unknown_key":
        values = {"segment": "abc", "colour": "red"}
    source = ds.datasource(module=module, connection=connection)
    with ds.runtime.unit() as unit:
        if case == "no_app_access":
            unit.connections.set_app(source.connection.id, None)
        if case == "disabled":
            unit.datasources.update(source.datasource.id, enabled=False)
    before = _snapshot(ds)
    with pytest.raises((Conflict, ValidationError)) as refused, ds.runtime.unit() as unit:
        ds_usecases.configure(unit, ds.dev, "crm", "people", values)
    error = refused.value
    assert isinstance(error, Conflict | ValidationError)
    named = error.details["rule"] if isinstance(error, Conflict) else error.field
    assert named == rule
    assert _snapshot(ds) == before


def test_configure_then_reconfigure_is_audited_and_syncs_with_the_value(ds: DsWorld) -> None:
    source = ds.datasource(module="segment")
    with pytest.raises(Conflict) as refused:
        ds.request(ds.dev, source.datasource.id)
    assert refused.value.details == {"rule": "not_configured"}
    for value in ("offset", "cursor"):
        with ds.runtime.unit() as unit:
            configured = ds_usecases.configure(unit, ds.dev, "crm", "people", {"segment": value})
    assert configured.datasource.config == {"segment": "cursor"}
    ds.provider.state.records_total = 150
    done = ds.run(ds.request(ds.dev, source.datasource.id).sync.id)
    assert done.status is SyncStatus.COMPLETED and done.records_seen == 150
    with ds.runtime.unit(write=False) as unit:
        actions = unit.conn.execute(
            select(audit_events.c.action).where(audit_events.c.action.like("datasource.%"))
        ).scalars()
        assert sorted(actions) == [
            "datasource.configure", "datasource.create", "datasource.reconfigure",
            "datasource.sync", "datasource.sync.request",
        ]  # fmt: skip
