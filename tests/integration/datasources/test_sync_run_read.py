"""The joined read of what a claimed sync's run needs (store/sync_runs.py) holds what the
repositories read one by one, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.integration.datasources.conftest import DsWorld


def test_the_run_read_holds_what_each_repository_reads(ds: DsWorld) -> None:
    source = ds.datasource().datasource
    user_id = ds.dev.user_id
    assert user_id is not None
    with ds.runtime.unit(write=False) as unit:
        read = unit.sync_runs.read(source.id, user_id)
        assert read is not None
        assert read.datasource == unit.datasources.by_id(source.id)
        assert read.app == unit.apps.by_id(source.app_id)
        assert read.connection == unit.connections.by_id(source.connection_id)
        assert read.workspace == unit.workspaces.by_id(read.app.workspace_id)
        custom = unit.custom_services.find(read.workspace.id, "recs")
        assert custom is not None and read.custom_service == custom
        assert read.user_email == unit.users.by_id(user_id).email == "dev@acme.test"


def test_the_run_read_without_a_user_has_no_email(ds: DsWorld) -> None:
    source = ds.datasource().datasource
    with ds.runtime.unit(write=False) as unit:
        read = unit.sync_runs.read(source.id, None)
    assert read is not None and read.user_email is None


def test_the_run_read_of_a_datasource_that_is_gone_is_none(ds: DsWorld) -> None:
    source = ds.datasource().datasource
    with ds.runtime.unit() as unit:
        unit.datasources.delete(source.id)
    with ds.runtime.unit(write=False) as unit:
        assert unit.sync_runs.read(source.id, None) is None


def test_the_run_read_holds_the_page_digests_of_the_last_completed_sync(ds: DsWorld) -> None:
    ds.provider.state.records_total = 300
    source = ds.datasource().datasource
    with ds.runtime.unit(write=False) as unit:
        before = unit.sync_runs.read(source.id, None)
    assert before is not None and before.page_digests == set()
    assert ds.run(ds.request(ds.dev, source.id).sync.id).pages == 3
    with ds.runtime.unit(write=False) as unit:
        read = unit.sync_runs.read(source.id, None)
        known = unit.datasource_pages.known(source.id)
    assert read is not None and len(known) == 3 and read.page_digests == known
