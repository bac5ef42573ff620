"""Connections, component references, and authorization status changes that follow from edits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from plugboard.domain.connections import Connection, Reference
from plugboard.domain.ids import new_id
from plugboard.domain.models import (
    AuthorizationStatus,
    ComponentType,
    ConnectionLevel,
    Environment,
)
from plugboard.errors import AlreadyExists, NotFound
from plugboard.store.tables import (
    accounts,
    apps,
    authorizations,
    component_references,
    connections,
)


def _connection(row: Any) -> Connection:
    return Connection(
        id=row.id,
        workspace_id=row.workspace_id,
        link_name=row.link_name,
        name=row.name,
        service_link_name=row.service_link_name,
        custom_service_id=row.custom_service_id,
        level=ConnectionLevel(row.level),
        per_environment=row.per_environment,
        scopes=tuple(row.scopes),
        all_scopes=row.all_scopes,
        dynamic_values=dict(row.dynamic_values),
        origin=row.origin,
        app_id=row.app_id,
        created_by=row.created_by,
        created_at=row.created_at,
        modified_by=row.modified_by,
        modified_at=row.modified_at,
    )


class ConnectionRepository:
    def __init__(self, conn: DbConnection) -> None:
        self._conn = conn

    def add(
        self,
        *,
        workspace_id: str,
        link_name: str,
        name: str,
        service_link_name: str,
        custom_service_id: str | None,
        level: ConnectionLevel,
        per_environment: bool,
        scopes: Sequence[str],
        all_scopes: bool,
        dynamic_values: dict[str, str],
        actor_id: str | None,
        now: datetime,
        origin: str = "created",
    ) -> Connection:
        if self.find(workspace_id, link_name) is not None:
            raise AlreadyExists("connection", "link_name", link_name)
        if level is ConnectionLevel.SYSTEM and self.system_for(workspace_id, service_link_name):
            raise AlreadyExists(
                "connection",
                "level",
                "system",
                f"level: workspace already has a system connection for {service_link_name}",
            )
        row_id = new_id("conn")
        try:
            self._conn.execute(
                connections.insert().values(
                    id=row_id,
                    workspace_id=workspace_id,
                    link_name=link_name,
                    name=name,
                    service_link_name=service_link_name,
                    custom_service_id=custom_service_id,
                    level=level.value,
                    per_environment=per_environment,
                    scopes=list(scopes),
                    all_scopes=all_scopes,
                    dynamic_values=dynamic_values,
                    origin=origin,
                    created_by=actor_id,
                    created_at=now,
                    modified_by=actor_id,
                    modified_at=now,
                )
            )
        except IntegrityError:
            raise AlreadyExists("connection", "link_name", link_name) from None
        return self.get(workspace_id, link_name)

    def find(self, workspace_id: str, link_name: str) -> Connection | None:
        row = self._conn.execute(
            select(connections).where(
                connections.c.workspace_id == workspace_id, connections.c.link_name == link_name
            )
        ).first()
        return _connection(row) if row else None

    def get(self, workspace_id: str, link_name: str) -> Connection:
        found = self.find(workspace_id, link_name)
        if found is None:
            raise NotFound("connection", link_name)
        return found

    def by_id(self, connection_id: str) -> Connection:
        row = self._conn.execute(
            select(connections).where(connections.c.id == connection_id)
        ).first()
        if row is None:
            raise NotFound("connection", connection_id)
        return _connection(row)

    def system_for(self, workspace_id: str, service_link_name: str) -> Connection | None:
        row = self._conn.execute(
            select(connections).where(
                connections.c.workspace_id == workspace_id,
                connections.c.service_link_name == service_link_name,
                connections.c.level == ConnectionLevel.SYSTEM.value,
            )
        ).first()
        return _connection(row) if row else None

    def of_workspace(self, workspace_id: str) -> list[Connection]:
        rows = self._conn.execute(
            select(connections)
            .where(connections.c.workspace_id == workspace_id)
            .order_by(connections.c.name, connections.c.link_name)
        )
        return [_connection(r) for r in rows]

    def page(
        self,
        workspace_id: str,
        *,
        levels: Sequence[ConnectionLevel] | None = None,
        apps: Collection[str] | None = None,
        ids: Collection[str] | None = None,
        service: str | None = None,
        search: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Connection]:
        """Connections by link name, filtered in SQL: ``levels`` (None: all), ``service``,
        ``search`` (case-insensitive text in the name or the link name), link names after
        ``after``, at most ``limit``; ``apps``: only connections enabled for no app or for one
        of these (None: all)."""
        query = select(connections).where(connections.c.workspace_id == workspace_id)
        if levels is not None:
            query = query.where(connections.c.level.in_([level.value for level in levels]))
        if ids is not None:
            query = query.where(connections.c.id.in_(list(ids)))
        if apps is not None:
            query = query.where(
                connections.c.app_id.is_(None) | connections.c.app_id.in_(list(apps))
            )
        if service is not None:
            query = query.where(connections.c.service_link_name == service)
        if search:
            needle = search.lower()  # as SQL lower() folds (casefold would turn ß into ss)
            query = query.where(
                func.lower(connections.c.name).contains(needle, autoescape=True)
                | connections.c.link_name.contains(needle, autoescape=True)
            )
        if after is not None:
            query = query.where(connections.c.link_name > after)
        query = query.order_by(connections.c.link_name)
        if limit is not None:
            query = query.limit(limit)
        return [_connection(r) for r in self._conn.execute(query)]

    def names_in(self, workspace_id: str) -> list[str]:
        rows = self._conn.execute(
            select(connections.c.name).where(connections.c.workspace_id == workspace_id)
        )
        return [r.name for r in rows]

    def link_names_of(self, connection_ids: Collection[str]) -> dict[str, str]:
        """Connection id -> link name, for these ids (one query)."""
        if not connection_ids:
            return {}
        rows = self._conn.execute(
            select(connections.c.id, connections.c.link_name).where(
                connections.c.id.in_(list(connection_ids))
            )
        )
        return {r.id: r.link_name for r in rows}

    def link_names_in(self, workspace_id: str) -> set[str]:
        rows = self._conn.execute(
            select(connections.c.link_name).where(connections.c.workspace_id == workspace_id)
        )
        return {r.link_name for r in rows}

    def of_custom_service(self, custom_service_id: str) -> list[Connection]:
        rows = self._conn.execute(
            select(connections).where(connections.c.custom_service_id == custom_service_id)
        )
        return [_connection(r) for r in rows]

    def update(
        self, connection: Connection, *, actor_id: str | None, now: datetime, **values: Any
    ) -> Connection:
        self._conn.execute(
            update(connections)
            .where(connections.c.id == connection.id)
            .values(**values, modified_by=actor_id, modified_at=now)
        )
        return self.get(connection.workspace_id, connection.link_name)

    def delete(self, connection: Connection) -> None:
        self._conn.execute(delete(connections).where(connections.c.id == connection.id))

    # -- app access (SPEC §6) -------------------------------------------------------------------

    def set_app(self, connection_id: str, app_id: str | None) -> None:
        """Enable the connection for an app (None: for no app)."""
        values: dict[str, Any] = {"app_id": app_id}
        if app_id is None:
            values["app_access_locked"] = False
        self._conn.execute(
            update(connections).where(connections.c.id == connection_id).values(**values)
        )

    def lock_row(self, connection_id: str) -> None:
        """Hold the connection's row until the transaction ends (PostgreSQL: FOR UPDATE;
        SQLite's write transaction holds the whole database already)."""
        if self._conn.dialect.name == "postgresql":
            self._conn.execute(
                select(connections.c.id).where(connections.c.id == connection_id).with_for_update()
            )

    def lock_access(self, connection_ids: Sequence[str]) -> None:
        """Published with their app: they stay enabled for it even once unreferenced."""
        if connection_ids:
            self._conn.execute(
                update(connections)
                .where(connections.c.id.in_(list(connection_ids)))
                .values(app_access_locked=True)
            )

    def access_locked(self, connection_id: str) -> bool:
        row = self._conn.execute(
            select(connections.c.app_access_locked).where(connections.c.id == connection_id)
        ).first()
        return bool(row and row.app_access_locked)

    def of_app(self, app_id: str) -> list[Connection]:
        rows = self._conn.execute(
            select(connections)
            .where(connections.c.app_id == app_id)
            .order_by(connections.c.link_name)
        )
        return [_connection(r) for r in rows]

    def release_app(self, app_id: str) -> None:
        """The app is deleted: its connections serve no app any more."""
        self._conn.execute(
            update(connections)
            .where(connections.c.app_id == app_id)
            .values(app_id=None, app_access_locked=False)
        )

    # -- references -----------------------------------------------------------------------------

    def references(
        self,
        connection_id: str,
        *,
        after: tuple[str, str, str, str] | None = None,
        limit: int | None = None,
    ) -> list[Reference]:
        """The components using a connection by (app link name, component type, name,
        environment): keys after ``after``, at most ``limit`` (the unique constraint's leading
        connection_id serves the filter; a connection has few references)."""
        key = (
            apps.c.link_name,
            component_references.c.component_type,
            component_references.c.component_name,
            component_references.c.environment,
        )
        query = (
            select(component_references, apps.c.link_name.label("app_link_name"))
            .join(apps, apps.c.id == component_references.c.app_id)
            .where(component_references.c.connection_id == connection_id)
        )
        if after is not None:
            query = query.where(tuple_(*key) > tuple_(*after))
        rows = self._conn.execute(query.order_by(*key).limit(limit))
        return [
            Reference(
                id=r.id,
                connection_id=r.connection_id,
                app_id=r.app_id,
                app_link_name=r.app_link_name,
                component_type=ComponentType(r.component_type),
                component_name=r.component_name,
                environment=Environment(r.environment),
            )
            for r in rows
        ]

    def reference_count(self, connection_id: str) -> int:
        query = (
            select(func.count())
            .select_from(component_references)
            .where(component_references.c.connection_id == connection_id)
        )
        return int(self._conn.execute(query).scalar_one())

    # -- authorizations, as far as connection edits touch them ---------------------------------

    def require_reauthorization(
        self,
        connection_id: str,
        detail: str,
        now: datetime,
        *,
        environments: Collection[str] | None = None,
    ) -> int:
        """Scopes changed: every live authorization (of ``environments``, by their stored
        key: `all` or an environment; None: every one) must be granted again (SPEC §3)."""
        query = (
            update(authorizations)
            .where(
                authorizations.c.connection_id == connection_id,
                authorizations.c.status.in_(
                    [AuthorizationStatus.CONNECTED.value, AuthorizationStatus.EXPIRED.value]
                ),
            )
            .values(
                status=AuthorizationStatus.NEEDS_REAUTH.value, status_detail=detail, updated_at=now
            )
        )
        if environments is not None:
            query = query.where(authorizations.c.environment.in_(list(environments)))
        result = self._conn.execute(query)
        return int(result.rowcount)

    def disconnect_all(self, connection_id: str, detail: str, now: datetime) -> int:
        """Its service was edited or deleted: delete every credential of the connection and mark
        its authorizations not_connected (SPEC §5), with why."""
        result = self._conn.execute(
            update(authorizations)
            .where(
                authorizations.c.connection_id == connection_id,
                (authorizations.c.status != AuthorizationStatus.NOT_CONNECTED.value)
                | authorizations.c.account_id.is_not(None),
            )
            .values(
                status=AuthorizationStatus.NOT_CONNECTED.value,
                status_detail=detail,
                account_id=None,
                is_primary=False,
                updated_at=now,
            )
        )
        self._conn.execute(delete(accounts).where(accounts.c.connection_id == connection_id))
        return int(result.rowcount)

    def revoke_all(self, connection_id: str, detail: str, now: datetime) -> int:
        """Delete every credential of the connection and mark its authorizations revoked."""
        result = self._conn.execute(
            update(authorizations)
            .where(
                authorizations.c.connection_id == connection_id,
                authorizations.c.status != AuthorizationStatus.REVOKED.value,
            )
            .values(
                status=AuthorizationStatus.REVOKED.value,
                status_detail=detail,
                account_id=None,
                is_primary=False,
                updated_at=now,
            )
        )
        self._conn.execute(delete(accounts).where(accounts.c.connection_id == connection_id))
        return int(result.rowcount)


def insert_reference(
    conn: DbConnection,
    *,
    workspace_id: str,
    connection_id: str,
    app_id: str,
    component_type: ComponentType,
    component_name: str,
    environment: Environment,
    now: datetime,
) -> str:
    """Record that a component uses a connection (apps call this; tests use it directly)."""
    ref_id = new_id("ref")
    conn.execute(
        component_references.insert().values(
            id=ref_id,
            workspace_id=workspace_id,
            connection_id=connection_id,
            app_id=app_id,
            component_type=component_type.value,
            component_name=component_name,
            environment=environment.value,
            created_at=now,
        )
    )
    return ref_id
