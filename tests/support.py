"""Helpers the integration tests share: whole-store snapshots and direct inserts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, literal, select, union_all

from plugboard.domain.ids import new_id
from plugboard.domain.models import ComponentType, Environment
from plugboard.store.connections import insert_reference
from plugboard.store.database import Database
from plugboard.store.tables import accounts, apps, authorizations, metadata

NOW = datetime(2026, 1, 1, tzinfo=UTC)


# One query names the tables that hold rows: most of the ~40 are empty in a test.
_FILLED_TABLES = union_all(
    *(
        select(literal(table.name).label("name")).where(exists(select(1).select_from(table)))
        for table in metadata.sorted_tables
    )
)


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal snapshots mean an unchanged store."""
    with database.engine.connect() as conn:
        filled = {row.name for row in conn.execute(_FILLED_TABLES)}
        return {
            table.name: sorted(
                (tuple(str(v) for v in row) for row in conn.execute(select(table))),
            )
            if table.name in filled
            else []
            for table in metadata.sorted_tables
        }


def add_authorization(
    database: Database,
    *,
    workspace_id: str,
    connection_id: str,
    environment: str = "all",
    owner_user_id: str | None = None,
    status: str = "connected",
) -> str:
    """A connected authorization with a (dummy, sealed-looking) account, inserted directly:
    the authorization flows come in a later issue."""
    account_id, authorization_id = new_id("acc"), new_id("auz")
    with database.transaction() as conn:
        conn.execute(
            accounts.insert().values(
                id=account_id,
                workspace_id=workspace_id,
                connection_id=connection_id,
                owner_user_id=owner_user_id,
                display_name="Account 1",
                credential_sealed="pbs1.k1.placeholder",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        conn.execute(
            authorizations.insert().values(
                id=authorization_id,
                workspace_id=workspace_id,
                connection_id=connection_id,
                environment=environment,
                owner_user_id=owner_user_id,
                account_id=account_id,
                status=status,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return authorization_id


def add_reference(
    database: Database,
    *,
    workspace_id: str,
    connection_id: str,
    app_link_name: str = "sales",
    component_type: ComponentType = ComponentType.WORKFLOW,
    component_name: str = "sync deals",
    environment: Environment = Environment.DEVELOPMENT,
) -> None:
    with database.transaction() as conn:
        app = conn.execute(
            select(apps.c.id).where(
                apps.c.workspace_id == workspace_id, apps.c.link_name == app_link_name
            )
        ).first()
        app_id = app.id if app else new_id("app")
        if app is None:
            conn.execute(
                apps.insert().values(
                    id=app_id,
                    workspace_id=workspace_id,
                    link_name=app_link_name,
                    name=app_link_name.title(),
                    created_at=NOW,
                )
            )
        insert_reference(
            conn,
            workspace_id=workspace_id,
            connection_id=connection_id,
            app_id=app_id,
            component_type=component_type,
            component_name=component_name,
            environment=environment,
            now=NOW,
        )
