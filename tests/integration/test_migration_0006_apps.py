"""Migration 0006 (apps) keeps what an older store holds: references written before components
existed survive the upgrade (with no component) and still protect their connection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from plugboard.store.database import Database
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":
        url = create_pg_database("plugboard_m0006")
        database = Database(url)
    else:
        database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    database.upgrade("0005")
    yield database
    database.dispose()
    if request.param == "postgresql":
        drop_pg_database(url)


def _seed(database: Database) -> None:
    rows = [
        "INSERT INTO workspaces (id, name, kind, created_at) "
        "VALUES ('ws1', 'acme', 'developer', :t)",
        "INSERT INTO apps (id, workspace_id, link_name, name, created_at) "
        "VALUES ('app1', 'ws1', 'sales', 'Sales', :t)",
        "INSERT INTO connections (id, workspace_id, link_name, name, service_link_name, level, "
        "per_environment, scopes, all_scopes, dynamic_values, origin, app_id, app_access_locked, "
        "created_at, modified_at) VALUES ('c1', 'ws1', 'crm', 'CRM', 'hubspot', 'admin', false, "
        "'[]', false, '{}', 'created', 'app1', false, :t, :t)",
        "INSERT INTO component_references (id, workspace_id, connection_id, app_id, "
        "component_type, component_name, environment, created_at) "
        "VALUES ('r1', 'ws1', 'c1', 'app1', 'workflow', 'Sync', 'development', :t)",
    ]
    with database.engine.begin() as conn:
        for sql in rows:
            conn.execute(text(sql), {"t": NOW})


def test_an_older_stores_references_survive_the_apps_migration(at_0005: Database) -> None:
    _seed(at_0005)

    at_0005.upgrade()

    with at_0005.engine.connect() as conn:
        reference = conn.execute(
            text("SELECT component_name, component_id FROM component_references")
        ).one()
        app = conn.execute(text("SELECT version, origin, source FROM apps")).one()
        linked = conn.execute(text("SELECT app_id FROM connections")).scalar_one()
    assert tuple(reference) == ("Sync", None)
    assert tuple(app) == (0, "created", None)
    assert linked == "app1"  # enabled for its app still (a table rebuild would unlink it)


def test_the_apps_migration_undoes_cleanly(at_0005: Database) -> None:
    _seed(at_0005)
    at_0005.upgrade("0006")

    at_0005.downgrade("0005")

    with at_0005.engine.connect() as conn:
        names = conn.execute(text("SELECT component_name FROM component_references")).scalars()
        assert list(names) == ["Sync"]
