"""Apps and their components, app access and app users (SPEC §6).

Components are edited in `development`; every write of a component rewrites the references it
makes in the same transaction, and enables the connections it uses for its app (a connection
serves exactly one app, system connections excepted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from plugboard.domain.apps import (
    App,
    Component,
    ComponentUses,
    check_access_removable,
    check_app_access,
    check_app_name,
    check_component_kind,
    check_component_name,
    check_uses,
)
from plugboard.domain.connections import Connection
from plugboard.domain.models import ConnectionLevel, Environment, Membership, Role, Workspace
from plugboard.domain.naming import check_email, check_link_name, link_name_from
from plugboard.domain.permissions import Action, allowed, require
from plugboard.domain.principal import Principal
from plugboard.errors import Conflict, NotFound, PermissionDenied, ValidationError
from plugboard.store.unit import Unit
from plugboard.usecases.identity import find_member, workspace_for


@dataclass(frozen=True, slots=True)
class AppDetails:
    app: App
    components: list[Component]
    connections: list[Connection]  # those its components use, in the environment shown
    environment: Environment


def app_for(unit: Unit, actor: Principal, link_name: str, workspace: str | None = None) -> App:
    """An app the actor may see: every app for builders and admins, the granted ones for a
    `user`, its own for an app token; anything else is reported as not found."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.VIEW_APPS)
    app = unit.apps.get(ws.id, check_link_name(link_name, "app"))
    if not may_use_app(unit, actor, app):
        raise NotFound("app", link_name)
    return app


def app_to_change(
    unit: Unit, actor: Principal, link_name: str, action: Action, workspace: str | None
) -> tuple[Workspace, App]:
    """The workspace and app an action changes, once the actor may take ``action``."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, action)
    return ws, unit.apps.get(ws.id, link_name)


def may_use_app(unit: Unit, actor: Principal, app: App) -> bool:
    if actor.is_operator:
        return True
    if actor.is_app:
        return actor.app_id == app.id
    if actor.role is not Role.USER:
        return True
    return actor.user_id is not None and unit.apps.is_granted(app.id, actor.user_id)


def list_apps(
    unit: Unit,
    actor: Principal,
    *,
    workspace: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[App]:
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.VIEW_APPS)
    if actor.is_app:
        own = unit.apps.by_id(actor.app_id or "")
        return [own] if after is None or own.link_name > after else []
    granted_to = actor.user_id if actor.role is Role.USER else None
    return unit.apps.page(ws.id, granted_to=granted_to, after=after, limit=limit)


def create_app(
    unit: Unit,
    actor: Principal,
    *,
    name: str,
    link_name: str | None = None,
    workspace: str | None = None,
) -> App:
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_APPS)
    _require_developer_workspace(ws)
    display = check_app_name(name)
    link = check_link_name(link_name) if link_name is not None else link_name_from(display)
    app = unit.apps.add(
        workspace_id=ws.id, link_name=link, name=display, actor_id=actor.user_id, now=unit.now()
    )
    audit(unit, actor, "app.create", app, {"name": display})
    return app


def rename_app(
    unit: Unit, actor: Principal, link_name: str, *, name: str, workspace: str | None = None
) -> App:
    _, app = app_to_change(unit, actor, link_name, Action.MANAGE_APPS, workspace)
    updated = unit.apps.update(app, name=check_app_name(name))
    audit(unit, actor, "app.edit", updated, {"changed": ["name"]})
    return updated


def delete_app(
    unit: Unit, actor: Principal, link_name: str, *, workspace: str | None = None
) -> App:
    """Delete an app with its components, versions and references. Its connections stay, no
    longer enabled for any app."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_APPS if ws.kind.value == "developer" else Action.INSTALL_APPS)
    app = unit.apps.get(ws.id, link_name)
    for environment in Environment:
        unit.apps.delete_components(app.id, environment)
    unit.connections.release_app(app.id)
    unit.apps.delete(app)
    audit(unit, actor, "app.delete", app, {})
    return app


def show_app(
    unit: Unit,
    actor: Principal,
    link_name: str,
    *,
    environment: str | None = None,
    workspace: str | None = None,
) -> AppDetails:
    app = app_for(unit, actor, link_name, workspace)
    ws = unit.workspaces.by_id(app.workspace_id)
    env = environment_for(ws, environment)
    used = [unit.connections.by_id(i) for i in unit.apps.connection_ids_used(app.id, env)]
    components = unit.apps.components(app.id, env)
    if actor.role is Role.USER:
        # SPEC §1: a `user` sees logged-in-user connections only, not even their link names.
        used = [c for c in used if c.level is ConnectionLevel.USER]
        shown = {c.link_name for c in used}
        components = [
            replace(c, uses=ComponentUses(tuple(x for x in c.uses.connections if x in shown), ()))
            for c in components
        ]
    return AppDetails(app, components, used, env)


def environment_for(ws: Workspace, environment: str | None) -> Environment:
    """The environment shown by default: development where apps are built, production where
    they are installed."""
    if environment is None:
        return Environment.DEVELOPMENT if ws.kind.value == "developer" else Environment.PRODUCTION
    try:
        env = Environment(environment)
    except ValueError:
        raise ValidationError("environment", "must be development, stage or production") from None
    if ws.kind.value == "client" and env is not Environment.PRODUCTION:
        raise ValidationError("environment", "a client workspace only has production")
    return env


# -- components ---------------------------------------------------------------------------------


def put_component(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    *,
    kind: str,
    name: str,
    connections: Sequence[str] = (),
    services: Sequence[str] = (),
    workspace: str | None = None,
) -> Component:
    """Create or replace a development component and the references it makes. Each connection
    it names becomes enabled for the app; one enabled for another app is refused."""
    _, app = app_to_change(unit, actor, app_link_name, Action.MANAGE_APPS, workspace)
    component_kind = check_component_kind(kind)
    component_name = check_component_name(name)
    uses = check_uses(connections, services)
    ids = connection_ids_for(unit, app, uses, enable=True)
    component = unit.apps.put_component(
        app, environment=Environment.DEVELOPMENT, kind=component_kind, name=component_name,
        uses=uses, connection_ids=ids, actor_id=actor.user_id, now=unit.now(),
    )  # fmt: skip
    audit(
        unit, actor, "component.put", app,
        {"component": f"{component_kind.value}/{component_name}", **uses.as_data()},
    )  # fmt: skip
    return component


def delete_component(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    *,
    kind: str,
    name: str,
    workspace: str | None = None,
) -> Component:
    _, app = app_to_change(unit, actor, app_link_name, Action.MANAGE_APPS, workspace)
    component_kind = check_component_kind(kind)
    found = unit.apps.find_component(app.id, Environment.DEVELOPMENT, component_kind, name)
    if found is None:
        raise NotFound("component", f"{component_kind.value}/{name}")
    unit.apps.delete_component(found)
    audit(unit, actor, "component.delete", app, {"component": f"{component_kind.value}/{name}"})
    return found


def connection_ids_for(unit: Unit, app: App, uses: ComponentUses, *, enable: bool) -> list[str]:
    """The connections a component's uses name, checked against app access (and, ``enable``,
    enabled for the app when they serve none yet). A service is served by the workspace's
    system connection once it exists (it is made the first time the component runs)."""
    names: dict[str, str] = {}
    ids: list[str] = []
    for i, link in enumerate(uses.connections):
        connection = unit.connections.find(app.workspace_id, link)
        if connection is None:
            raise ValidationError(f"connections[{i}]", f"no connection {link!r} in this workspace")
        if connection.app_id is not None and connection.app_id not in names:
            names.update(unit.apps.link_names_by_id([connection.app_id]))
        check_app_access(connection, app, names)
        if enable and connection.level is not ConnectionLevel.SYSTEM and connection.app_id is None:
            unit.connections.set_app(connection.id, app.id)
        ids.append(connection.id)
    for service in uses.services:
        system = unit.connections.system_for(app.workspace_id, service)
        if system is not None:
            ids.append(system.id)
    return ids


# -- app access ---------------------------------------------------------------------------------


def enable_access(
    unit: Unit, actor: Principal, app_link_name: str, connection: str, *, workspace: str | None
) -> Connection:
    ws, app = app_to_change(unit, actor, app_link_name, Action.MANAGE_APPS, workspace)
    conn = unit.connections.get(ws.id, connection)
    if conn.level is ConnectionLevel.SYSTEM:
        raise Conflict(
            f"connection {connection!r} is a system connection: it serves every app that needs "
            "its service, without app access",
            {"rule": "system_connection_access"},
        )
    check_app_access(conn, app, unit.apps.link_names_by_id([conn.app_id or ""]))
    if conn.app_id != app.id:
        unit.connections.set_app(conn.id, app.id)
        audit(unit, actor, "app.access.enable", app, {"connection": conn.link_name})
    return unit.connections.by_id(conn.id)


def disable_access(
    unit: Unit, actor: Principal, app_link_name: str, connection: str, *, workspace: str | None
) -> Connection:
    ws, app = app_to_change(unit, actor, app_link_name, Action.MANAGE_APPS, workspace)
    conn = unit.connections.get(ws.id, connection)
    check_access_removable(
        conn, app,
        references=unit.apps.references_from_app(app.id, conn.id),
        locked=unit.connections.access_locked(conn.id),
    )  # fmt: skip
    unit.connections.set_app(conn.id, None)
    audit(unit, actor, "app.access.disable", app, {"connection": conn.link_name})
    return unit.connections.by_id(conn.id)


# -- app users ----------------------------------------------------------------------------------


def grant_app(
    unit: Unit, actor: Principal, app_link_name: str, email: str, *, workspace: str | None
) -> bool:
    ws, app = app_to_change(unit, actor, app_link_name, Action.GRANT_APPS, workspace)
    member = find_member(unit, ws, check_email(email))
    granted = unit.apps.grant(app, member.user.id, actor.user_id, unit.now())
    if granted:
        audit(unit, actor, "app.grant", app, {"user": member.user.email})
    return granted


def ungrant_app(
    unit: Unit, actor: Principal, app_link_name: str, email: str, *, workspace: str | None
) -> bool:
    ws, app = app_to_change(unit, actor, app_link_name, Action.GRANT_APPS, workspace)
    member = find_member(unit, ws, check_email(email))
    removed = unit.apps.ungrant(app, member.user.id)
    if removed:
        audit(unit, actor, "app.ungrant", app, {"user": member.user.email})
    return removed


def app_users(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    *,
    workspace: str | None,
    after: str | None = None,
    limit: int | None = None,
) -> list[tuple[Membership, datetime]]:
    """The members the app is granted to, by e-mail, with when: paged by the store (e-mails
    after ``after``, at most ``limit``)."""
    ws, app = app_to_change(unit, actor, app_link_name, Action.GRANT_APPS, workspace)
    return unit.memberships.granted(app.id, ws.id, after=after, limit=limit)


def require_app_user(unit: Unit, app: App, user_id: str, role: Role) -> None:
    """Whom an app may act for: its granted members, and every builder and admin."""
    if role is Role.USER and not unit.apps.is_granted(app.id, user_id):
        raise PermissionDenied(
            "run an app it is not granted to",
            role,
            f"the member is not a user of app {app.link_name!r}",
        )


def _require_developer_workspace(ws: Workspace) -> None:
    if ws.kind.value != "developer":
        raise ValidationError(
            "workspace",
            "apps are built in a developer workspace; a client workspace installs them "
            "(`plugboard apps install`)",
        )


def audit(unit: Unit, actor: Principal, action: str, app: App, detail: dict[str, object]) -> None:
    unit.record(
        actor=actor, action=action, object_type="app", object_id=app.id,
        workspace_id=app.workspace_id, detail={"app": app.link_name, **detail},
    )  # fmt: skip


def allowed_to_build(actor: Principal) -> bool:
    return allowed(actor, Action.MANAGE_APPS)
