"""What an app needs while it runs: the system connection a component names by service (SPEC
§4), and the app's connections panel (SPEC §9 "slider"): for each connection its components use,
its status per environment for the viewer and whether the viewer may authorize it.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugboard.domain.apps import App
from plugboard.domain.authorizations import environment_key, may_authorize, who_must_act
from plugboard.domain.connections import AuthorizationSummary, Connection
from plugboard.domain.models import (
    AuthorizationStatus,
    ConnectionLevel,
    Environment,
    Role,
    WorkspaceKind,
    environments_of,
)
from plugboard.domain.naming import check_link_name, link_name_from, next_free_name
from plugboard.domain.permissions import Action, require
from plugboard.domain.principal import Principal
from plugboard.errors import NotFound
from plugboard.store.unit import Unit
from plugboard.usecases.apps import app_for, audit, connection_ids_for, environment_for
from plugboard.usecases.connections import free_link_name
from plugboard.usecases.services import resolve_service


@dataclass(frozen=True, slots=True)
class PanelAuthorization:
    environment: Environment
    status: AuthorizationStatus
    account_name: str | None
    is_primary: bool


@dataclass(frozen=True, slots=True)
class PanelEntry:
    connection: Connection
    service_name: str
    authorizations: list[PanelAuthorization]  # one per environment the panel shows
    may_authorize: bool
    who_must_act: str  # what the viewer is told when it is not connected


def system_connection(
    unit: Unit, actor: Principal, app_link_name: str, service: str, *, workspace: str | None
) -> tuple[Connection, bool]:
    """The workspace's system connection for ``service``, made now if there is none; returns
    (connection, created). Only a service a component of the app names can be asked for. Two
    first uses at once make one connection: the database allows one per service, and the loser
    of the race reads the winner's (see Apps.system_connection)."""
    app = app_for(unit, actor, app_link_name, workspace)
    require(actor, Action.USE_SYSTEM_CONNECTIONS)
    link = check_link_name(service, "service")
    users = [c for c in unit.apps.components(app.id) if link in c.uses.services]
    if not users:
        raise NotFound(
            "service", link, f"no component of app {app.link_name!r} uses service {link!r}"
        )
    found = unit.connections.system_for(app.workspace_id, link)
    created = found is None
    if found is None:
        entry = resolve_service(unit, app.workspace_id, link)
        definition = entry.definition
        name = next_free_name(
            f"{definition.name} System Connection", unit.connections.names_in(app.workspace_id)
        )[:50]
        found = unit.connections.add(
            workspace_id=app.workspace_id,
            link_name=free_link_name(
                link_name_from(name), unit.connections.link_names_in(app.workspace_id)
            ),
            name=name, service_link_name=definition.link_name,
            custom_service_id=entry.custom.id if entry.custom else None,
            level=ConnectionLevel.SYSTEM, per_environment=False, scopes=_all_scopes(definition),
            all_scopes=bool(_all_scopes(definition)), dynamic_values={},
            actor_id=actor.user_id, now=unit.now(), origin="system",
        )  # fmt: skip
        audit(
            unit,
            actor,
            "connection.create_system",
            app,
            {"connection": found.link_name, "service": link},
        )
    for component in users:
        unit.apps.set_references(
            app, component.id, component.environment, component.kind, component.name,
            connection_ids_for(unit, app, component.uses, enable=False), unit.now(),
        )  # fmt: skip
    return found, created


def panel(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    *,
    environment: str | None = None,
    workspace: str | None = None,
) -> tuple[App, list[PanelEntry]]:
    """The app's connections panel for the viewer: builders and admins see every connection its
    components use, a `user` only the user-level ones (SPEC §1)."""
    app = app_for(unit, actor, app_link_name, workspace)
    ws = unit.workspaces.by_id(app.workspace_id)
    shown = (
        _panel_environments(ws.kind) if environment is None else (environment_for(ws, environment),)
    )
    viewer_role = actor.role
    entries: list[PanelEntry] = []
    # One read for the connections, two for their authorizations (the viewer's rows and the
    # primary ones, not every user's), one per service: not four per connection.
    used = unit.connections.page(ws.id, ids=unit.apps.connection_ids_used(app.id))
    if viewer_role is Role.USER:
        used = [c for c in used if c.level is ConnectionLevel.USER]
    rows_of = unit.authorizations.serving(
        [c.id for c in used],
        user_level={c.id for c in used if c.level is ConnectionLevel.USER},
        viewer=actor.user_id,
    )
    service_names: dict[str, str] = {}
    for connection in used:
        owner = actor.user_id if connection.level is ConnectionLevel.USER else None
        summaries = [r.summary for r in rows_of[connection.id]]
        link = connection.service_link_name
        if link not in service_names:
            try:
                service_names[link] = resolve_service(unit, ws.id, link).definition.name
            except NotFound:
                service_names[link] = link
        entries.append(
            PanelEntry(
                connection=connection,
                service_name=service_names[link],
                authorizations=[_slot(connection, summaries, env, owner) for env in shown],
                may_authorize=_may_authorize(actor, connection, summaries),
                who_must_act=who_must_act(
                    connection.level,
                    role=viewer_role,
                    is_operator=actor.is_operator,
                    # before a primary account exists, nobody but a super admin authorizes
                    for_user=actor.user_id is not None and _has_primary(summaries),
                ),
            )  # fmt: skip
        )
    return app, entries


def _panel_environments(kind: WorkspaceKind) -> tuple[Environment, ...]:
    """Where the app runs: development and stage where it is built, production where it is
    installed."""
    if kind is WorkspaceKind.DEVELOPER:
        return (Environment.DEVELOPMENT, Environment.STAGE)
    return environments_of(kind)


def _slot(
    connection: Connection,
    summaries: list[AuthorizationSummary],
    environment: Environment,
    owner: str | None,
) -> PanelAuthorization:
    key = environment_key(connection.per_environment, environment)
    for a in summaries:
        if a.environment == key and a.owner_user_id == owner:
            return PanelAuthorization(environment, a.status, a.account_name, a.is_primary)
    return PanelAuthorization(environment, AuthorizationStatus.NOT_CONNECTED, None, False)


def _may_authorize(
    actor: Principal, connection: Connection, summaries: list[AuthorizationSummary]
) -> bool:
    """The Authorize button: the matrix's rule, and on a user-level connection the primary
    rule (nobody but a super admin authorizes before a primary account exists)."""
    if actor.is_app:
        return False
    owner = actor.user_id if connection.level is ConnectionLevel.USER else None
    if not may_authorize(actor, connection.level, owner):
        return False
    if connection.level is ConnectionLevel.USER and not actor.is_operator:
        return _has_primary(summaries) or actor.role is Role.SUPER_ADMIN
    return True


def _has_primary(summaries: list[AuthorizationSummary]) -> bool:
    return any(a.is_primary for a in summaries)


def _all_scopes(definition: object) -> tuple[str, ...]:
    oauth2 = getattr(definition, "oauth2", None)
    if oauth2 is None:
        return ()
    return tuple(s.name for s in oauth2.scopes)
