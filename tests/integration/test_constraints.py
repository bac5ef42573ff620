"""Rules the database itself enforces, so no code path (or hand-written SQL) can break them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from plugboard.domain.ids import new_id
from plugboard.store.database import Database
from plugboard.store.tables import (
    apps,
    authorizations,
    component_references,
    connections,
    users,
    workspaces,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _workspace(conn: Connection, name: str = "acme") -> str:
    ws_id = new_id("ws")
    conn.execute(workspaces.insert().values(id=ws_id, name=name, kind="developer", created_at=NOW))
    return ws_id


def _user(conn: Connection, email: str = "ada@example.com") -> str:
    user_id = new_id("usr")
    conn.execute(users.insert().values(id=user_id, email=email, name="Ada", created_at=NOW))
    return user_id


def _connection(conn: Connection, ws_id: str, link_name: str = "crm", **extra: Any) -> str:
    conn_id = new_id("conn")
    values = {
        "id": conn_id,
        "workspace_id": ws_id,
        "link_name": link_name,
        "name": "CRM",
        "service_link_name": "zoho_crm",
        "level": "admin",
        "scopes": [],
        "dynamic_values": {},
        "created_at": NOW,
        "modified_at": NOW,
        **extra,
    }
    conn.execute(connections.insert().values(**values))
    return conn_id


def _authorization(conn: Connection, ws_id: str, conn_id: str, **extra: Any) -> None:
    values = {
        "id": new_id("auz"),
        "workspace_id": ws_id,
        "connection_id": conn_id,
        "environment": "all",
        "status": "not_connected",
        "created_at": NOW,
        "updated_at": NOW,
        **extra,
    }
    conn.execute(authorizations.insert().values(**values))


def _violates(database: Database, change: Callable[[Connection], None]) -> bool:
    try:
        with database.transaction() as conn:
            change(conn)
    except IntegrityError:
        return True
    return False


def test_link_names_are_unique_within_a_workspace(database: Database) -> None:
    def twice(conn: Connection) -> None:
        ws = _workspace(conn)
        _connection(conn, ws, "crm")
        _connection(conn, ws, "crm")

    assert _violates(database, twice)


def test_the_same_link_name_may_exist_in_two_workspaces(database: Database) -> None:
    def in_two(conn: Connection) -> None:
        _connection(conn, _workspace(conn, "acme"), "crm")
        _connection(conn, _workspace(conn, "globex"), "crm")

    assert not _violates(database, in_two)


def test_a_connection_needs_an_existing_workspace(database: Database) -> None:
    assert _violates(database, lambda conn: _connection(conn, "ws_missing"))


def test_one_shared_authorization_per_connection_and_environment(database: Database) -> None:
    def twice(conn: Connection) -> None:
        ws = _workspace(conn)
        crm = _connection(conn, ws)
        _authorization(conn, ws, crm, environment="stage")
        _authorization(conn, ws, crm, environment="stage")

    assert _violates(database, twice)


def test_one_authorization_per_connection_environment_and_user(database: Database) -> None:
    def twice(conn: Connection) -> None:
        ws = _workspace(conn)
        ada = _user(conn)
        crm = _connection(conn, ws, level="user")
        _authorization(conn, ws, crm, owner_user_id=ada)
        _authorization(conn, ws, crm, owner_user_id=ada)

    assert _violates(database, twice)


def test_each_user_has_their_own_authorization_of_a_user_connection(database: Database) -> None:
    def two_users(conn: Connection) -> None:
        ws = _workspace(conn)
        crm = _connection(conn, ws, level="user")
        _authorization(conn, ws, crm, owner_user_id=_user(conn, "ada@example.com"))
        _authorization(conn, ws, crm, owner_user_id=_user(conn, "bob@example.com"))

    assert not _violates(database, two_users)


def test_only_one_primary_authorization_per_connection_and_environment(
    database: Database,
) -> None:
    def two_primaries(conn: Connection) -> None:
        ws = _workspace(conn)
        crm = _connection(conn, ws, level="user")
        for email in ("ada@example.com", "bob@example.com"):
            _authorization(conn, ws, crm, owner_user_id=_user(conn, email), is_primary=True)

    assert _violates(database, two_primaries)


def test_unknown_authorization_status_is_refused(database: Database) -> None:
    def bad_status(conn: Connection) -> None:
        ws = _workspace(conn)
        _authorization(conn, ws, _connection(conn, ws), status="half_connected")

    assert _violates(database, bad_status)


def test_a_referenced_connection_cannot_be_deleted(database: Database) -> None:
    with database.transaction() as conn:
        ws = _workspace(conn)
        crm = _connection(conn, ws)
        app_id = new_id("app")
        conn.execute(
            apps.insert().values(
                id=app_id, workspace_id=ws, link_name="sales", name="Sales", created_at=NOW
            )
        )
        conn.execute(
            component_references.insert().values(
                id=new_id("ref"),
                workspace_id=ws,
                connection_id=crm,
                app_id=app_id,
                component_type="workflow",
                component_name="sync deals",
                environment="development",
                created_at=NOW,
            )
        )
    assert _violates(
        database, lambda conn: conn.execute(connections.delete().where(connections.c.id == crm))
    )


def test_one_system_connection_per_service_in_a_workspace(database: Database) -> None:
    def twice(conn: Connection) -> None:
        ws = _workspace(conn)
        _connection(conn, ws, "crm_a", level="system")
        _connection(conn, ws, "crm_b", level="system")

    assert _violates(database, twice)


@pytest.mark.parametrize("level", ["admin", "user"])
def test_non_system_connections_of_one_service_may_repeat(database: Database, level: str) -> None:
    def twice(conn: Connection) -> None:
        ws = _workspace(conn)
        _connection(conn, ws, "crm_a", level=level)
        _connection(conn, ws, "crm_b", level=level)

    assert not _violates(database, twice)
