"""Apps, their components per environment, stage versions and app users (SPEC §6).

Components and the references they make are written together: :meth:`AppRepository.put_component`
replaces a component's references in the same transaction, so the references (and with them the
delete protection of SPEC §3) always say what the components use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from plugboard.domain.apps import App, Component, ComponentUses
from plugboard.domain.ids import new_id
from plugboard.domain.models import ComponentType, Environment
from plugboard.errors import AlreadyExists, NotFound
from plugboard.store.app_versions import AppVersionRepository
from plugboard.store.tables import (
    app_users,
    apps,
    component_references,
    components,
    connections,
)


def _app(row: Any) -> App:
    return App(
        id=row.id,
        workspace_id=row.workspace_id,
        link_name=row.link_name,
        name=row.name,
        version=row.version,
        origin=row.origin,
        source=row.source,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _component(row: Any) -> Component:
    return Component(
        id=row.id,
        app_id=row.app_id,
        environment=Environment(row.environment),
        kind=ComponentType(row.kind),
        name=row.name,
        uses=ComponentUses.from_data(row.uses),
        created_at=row.created_at,
        modified_at=row.modified_at,
    )


class AppRepository(AppVersionRepository):
    def __init__(self, conn: DbConnection) -> None:
        self._conn = conn

    # -- apps -----------------------------------------------------------------------------------

    def add(
        self,
        *,
        workspace_id: str,
        link_name: str,
        name: str,
        actor_id: str | None,
        now: datetime,
        origin: str = "created",
        source: str | None = None,
        version: int = 0,
    ) -> App:
        if self.find(workspace_id, link_name) is not None:
            raise AlreadyExists("app", "link_name", link_name)
        row_id = new_id("app")
        try:
            self._conn.execute(
                apps.insert().values(
                    id=row_id,
                    workspace_id=workspace_id,
                    link_name=link_name,
                    name=name,
                    created_by=actor_id,
                    created_at=now,
                    version=version,
                    origin=origin,
                    source=source,
                )  # fmt: skip
            )
        except IntegrityError:
            raise AlreadyExists("app", "link_name", link_name) from None
        return self.get(workspace_id, link_name)

    def find(self, workspace_id: str, link_name: str) -> App | None:
        row = self._conn.execute(
            select(apps).where(apps.c.workspace_id == workspace_id, apps.c.link_name == link_name)
        ).first()
        return _app(row) if row else None

    def get(self, workspace_id: str, link_name: str) -> App:
        found = self.find(workspace_id, link_name)
        if found is None:
            raise NotFound("app", link_name)
        return found

    def by_id(self, app_id: str) -> App:
        row = self._conn.execute(select(apps).where(apps.c.id == app_id)).first()
        if row is None:
            raise NotFound("app", app_id)
        return _app(row)

    def by_source(self, workspace_id: str, source: str) -> App | None:
        row = self._conn.execute(
            select(apps).where(
                apps.c.workspace_id == workspace_id,
                apps.c.source == source,
                apps.c.origin == "installed",
            )
        ).first()
        return _app(row) if row else None

    def page(
        self,
        workspace_id: str,
        *,
        granted_to: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[App]:
        """Apps by link name; ``granted_to``: only those granted to that user."""
        query = select(apps).where(apps.c.workspace_id == workspace_id)
        if granted_to is not None:
            query = query.where(
                apps.c.id.in_(select(app_users.c.app_id).where(app_users.c.user_id == granted_to))
            )
        if after is not None:
            query = query.where(apps.c.link_name > after)
        query = query.order_by(apps.c.link_name)
        if limit is not None:
            query = query.limit(limit)
        return [_app(r) for r in self._conn.execute(query)]

    def link_names_in(self, workspace_id: str) -> set[str]:
        rows = self._conn.execute(
            select(apps.c.link_name).where(apps.c.workspace_id == workspace_id)
        )
        return {r.link_name for r in rows}

    def link_names_by_id(self, app_ids: Iterable[str]) -> dict[str, str]:
        ids = list(set(app_ids))
        if not ids:
            return {}
        rows = self._conn.execute(select(apps.c.id, apps.c.link_name).where(apps.c.id.in_(ids)))
        return {r.id: r.link_name for r in rows}

    def update(self, app: App, **values: Any) -> App:
        self._conn.execute(update(apps).where(apps.c.id == app.id).values(**values))
        return self.by_id(app.id)

    def delete(self, app: App) -> None:
        self._conn.execute(delete(apps).where(apps.c.id == app.id))

    # -- components -----------------------------------------------------------------------------

    def components(self, app_id: str, environment: Environment | None = None) -> list[Component]:
        query = select(components).where(components.c.app_id == app_id)
        if environment is not None:
            query = query.where(components.c.environment == environment.value)
        rows = self._conn.execute(query.order_by(components.c.kind, components.c.name))
        return [_component(r) for r in rows]

    def find_component(
        self, app_id: str, environment: Environment, kind: ComponentType, name: str
    ) -> Component | None:
        row = self._conn.execute(
            select(components).where(
                components.c.app_id == app_id,
                components.c.environment == environment.value,
                components.c.kind == kind.value,
                components.c.name == name,
            )
        ).first()
        return _component(row) if row else None

    def put_component(
        self,
        app: App,
        *,
        environment: Environment,
        kind: ComponentType,
        name: str,
        uses: ComponentUses,
        connection_ids: Sequence[str],
        actor_id: str | None,
        now: datetime,
    ) -> Component:
        """Create or replace a component and the references it makes (``connection_ids``: the
        connections it uses, system connections of its services included)."""
        existing = self.find_component(app.id, environment, kind, name)
        if existing is None:
            component_id = new_id("cmp")
            self._conn.execute(
                components.insert().values(
                    id=component_id,
                    workspace_id=app.workspace_id,
                    app_id=app.id,
                    environment=environment.value,
                    kind=kind.value,
                    name=name,
                    uses=uses.as_data(),
                    created_by=actor_id,
                    created_at=now,
                    modified_at=now,
                )  # fmt: skip
            )
        else:
            component_id = existing.id
            self._conn.execute(
                update(components)
                .where(components.c.id == component_id)
                .values(uses=uses.as_data(), modified_at=now)
            )
        self.set_references(app, component_id, environment, kind, name, connection_ids, now)
        found = self.find_component(app.id, environment, kind, name)
        assert found is not None
        return found

    def set_references(
        self,
        app: App,
        component_id: str,
        environment: Environment,
        kind: ComponentType,
        name: str,
        connection_ids: Sequence[str],
        now: datetime,
    ) -> None:
        self._conn.execute(
            delete(component_references).where(component_references.c.component_id == component_id)
        )
        for connection_id in dict.fromkeys(connection_ids):
            self._conn.execute(
                component_references.insert().values(
                    id=new_id("ref"),
                    workspace_id=app.workspace_id,
                    connection_id=connection_id,
                    app_id=app.id,
                    component_id=component_id,
                    component_type=kind.value,
                    component_name=name,
                    environment=environment.value,
                    created_at=now,
                )  # fmt: skip
            )

    def delete_component(self, component: Component) -> None:
        # The references go with it (ON DELETE CASCADE, written out for SQLite connections
        # opened without foreign keys).
        self._conn.execute(
            delete(component_references).where(component_references.c.component_id == component.id)
        )
        self._conn.execute(delete(components).where(components.c.id == component.id))

    def delete_components(self, app_id: str, environment: Environment) -> None:
        for component in self.components(app_id, environment):
            self.delete_component(component)

    def references_from_app(self, app_id: str, connection_id: str) -> int:
        query = (
            select(func.count())
            .select_from(component_references)
            .where(
                component_references.c.app_id == app_id,
                component_references.c.connection_id == connection_id,
            )
        )
        return int(self._conn.execute(query).scalar_one())

    def connection_ids_used(self, app_id: str, environment: Environment | None = None) -> list[str]:
        """The connections the app's components reference, in link-name order."""
        query = (
            select(component_references.c.connection_id, connections.c.link_name)
            .join(connections, connections.c.id == component_references.c.connection_id)
            .where(component_references.c.app_id == app_id)
        )
        if environment is not None:
            query = query.where(component_references.c.environment == environment.value)
        rows = self._conn.execute(query.distinct().order_by(connections.c.link_name))
        return [r.connection_id for r in rows]

    def app_ids_using(self, connection_id: str) -> list[str]:
        rows = self._conn.execute(
            select(component_references.c.app_id)
            .where(component_references.c.connection_id == connection_id)
            .distinct()
        )
        return [r.app_id for r in rows]

    # -- app users ------------------------------------------------------------------------------

    def grant(self, app: App, user_id: str, actor_id: str | None, now: datetime) -> bool:
        """Grant the app to a member; False when it already was."""
        if self.is_granted(app.id, user_id):
            return False
        self._conn.execute(
            app_users.insert().values(
                app_id=app.id,
                user_id=user_id,
                workspace_id=app.workspace_id,
                granted_by=actor_id,
                created_at=now,
            )  # fmt: skip
        )
        return True

    def ungrant(self, app: App, user_id: str) -> bool:
        result = self._conn.execute(
            delete(app_users).where(app_users.c.app_id == app.id, app_users.c.user_id == user_id)
        )
        return bool(result.rowcount)

    def is_granted(self, app_id: str, user_id: str) -> bool:
        row = self._conn.execute(
            select(app_users.c.app_id).where(
                app_users.c.app_id == app_id, app_users.c.user_id == user_id
            )
        ).first()
        return row is not None

    def granted_app_ids(self, workspace_id: str, user_id: str) -> set[str]:
        rows = self._conn.execute(
            select(app_users.c.app_id).where(
                app_users.c.workspace_id == workspace_id, app_users.c.user_id == user_id
            )
        )
        return {r.app_id for r in rows}

    def connection_ids_granted_to(self, workspace_id: str, user_id: str) -> set[str]:
        """Connections referenced by components of the apps granted to a user."""
        rows = self._conn.execute(
            select(component_references.c.connection_id)
            .join(app_users, app_users.c.app_id == component_references.c.app_id)
            .where(
                app_users.c.user_id == user_id,
                component_references.c.workspace_id == workspace_id,
            )
            .distinct()
        )
        return {r.connection_id for r in rows}
