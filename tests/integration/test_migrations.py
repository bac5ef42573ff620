"""Alembic: the same migrations build the schema on SQLite and PostgreSQL, and undo it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from plugboard.store.database import Database
from plugboard.store.tables import metadata
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":
        url = create_pg_database("plugboard_migrations")
        database = Database(url)
        yield database
        database.dispose()
        drop_pg_database(url)
    else:
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield database
        database.dispose()


def _tables(database: Database) -> set[str]:
    return set(inspect(database.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table(empty_database: Database) -> None:
    empty_database.upgrade()
    assert _tables(empty_database) == set(metadata.tables)
    assert empty_database.state().up_to_date


def test_migrations_match_the_table_definitions(empty_database: Database) -> None:
    empty_database.upgrade()
    with empty_database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_base_removes_every_table(empty_database: Database) -> None:
    empty_database.upgrade()
    empty_database.downgrade("base")
    assert _tables(empty_database) == set()
    assert empty_database.state().revision is None


def test_upgrade_after_downgrade_rebuilds_the_schema(empty_database: Database) -> None:
    empty_database.upgrade()
    empty_database.downgrade("base")
    empty_database.upgrade()
    assert _tables(empty_database) == set(metadata.tables)
