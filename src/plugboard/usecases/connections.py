"""Connections: create, list, show, edit, delete, references (SPEC §3–§4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from plugboard.domain.connections import (
    Connection,
    connection_status,
    statuses_serving,
)
from plugboard.domain.events import EventType
from plugboard.domain.models import (
    ALL_ENVIRONMENTS,
    AuthorizationStatus,
    AuthType,
    ConnectionLevel,
    Environment,
)
from plugboard.domain.naming import (
    check_display_name,
    check_link_name,
    link_name_from,
    next_free_name,
)
from plugboard.domain.permissions import Action, allowed, require
from plugboard.domain.principal import Principal
from plugboard.domain.service import ServiceDefinition
from plugboard.errors import Conflict, NotFound, ValidationError
from plugboard.store.unit import Unit
from plugboard.usecases.events import record_connection_event, record_reauthorization_events
from plugboard.usecases.identity import workspace_for
from plugboard.usecases.invoke_invalidation import invalidate_resolutions
from plugboard.usecases.services import resolve_service


def scopes_for(
    service: ServiceDefinition, scopes: Sequence[str], all_scopes: bool
) -> tuple[str, ...]:
    """The scopes to request: a subset of the service's, its required ones always included."""
    if service.auth_type is not AuthType.OAUTH2 or service.oauth2 is None:
        if scopes or all_scopes:
            raise ValidationError("scopes", f"{service.auth_type.value} services have no scopes")
        return ()
    known = [s.name for s in service.oauth2.scopes]
    if all_scopes:
        if scopes:
            raise ValidationError("scopes", "give either scopes or all scopes, not both")
        return tuple(known)
    for i, scope in enumerate(scopes):
        if scope not in known:
            raise ValidationError(f"scopes[{i}]", f"{scope!r} is not a scope of {service.name}")
    chosen = [s.name for s in service.oauth2.scopes if s.required or s.name in scopes]
    if known and not chosen:
        raise ValidationError(
            "scopes", f"choose at least one scope of {service.name}, or all scopes"
        )
    return tuple(chosen)


def check_level(service: ServiceDefinition, level: ConnectionLevel) -> None:
    if level is ConnectionLevel.USER and not service.allow_user_level:
        raise ValidationError(
            "level",
            f"service {service.link_name!r} does not allow user-level (logged-in user) "
            "connections; use admin or system",
        )


def create_connection(
    unit: Unit,
    actor: Principal,
    *,
    service: str,
    name: str | None = None,
    link_name: str | None = None,
    scopes: Sequence[str] = (),
    all_scopes: bool = False,
    level: ConnectionLevel = ConnectionLevel.ADMIN,
    per_environment: bool = False,
    params: Mapping[str, str] | None = None,
    workspace: str | None = None,
) -> Connection:
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_CONNECTIONS)
    entry = resolve_service(unit, ws.id, check_link_name(service, "service"))
    definition = entry.definition
    check_level(definition, level)
    chosen_scopes = scopes_for(definition, scopes, all_scopes)
    values = definition.resolve_dynamic_values(dict(params or {}))

    if name is None:
        display = next_free_name(f"{definition.name} Connection", unit.connections.names_in(ws.id))
        display = check_display_name(display[:50])
    else:
        display = check_display_name(name)
    if link_name is None:
        link = free_link_name(link_name_from(display), unit.connections.link_names_in(ws.id))
    else:
        link = check_link_name(link_name)

    connection = unit.connections.add(
        workspace_id=ws.id,
        link_name=link,
        name=display,
        service_link_name=definition.link_name,
        custom_service_id=entry.custom.id if entry.custom else None,
        level=level,
        per_environment=per_environment,
        scopes=chosen_scopes,
        all_scopes=all_scopes,
        dynamic_values=values,
        actor_id=actor.user_id,
        now=unit.now(),
        origin="system" if level is ConnectionLevel.SYSTEM else "created",
    )
    _audit(
        unit,
        actor,
        "connection.create",
        connection,
        {
            "service": definition.link_name,
            "level": level.value,
            "per_environment": per_environment,
            "scopes": list(chosen_scopes),
        },
    )
    record_connection_event(unit, EventType.CONNECTION_CREATED, actor, connection)
    return connection


def free_link_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base[:46]}_{n}" in taken:
        n += 1
    return f"{base[:46]}_{n}"


def visible_levels(actor: Principal) -> list[ConnectionLevel] | None:
    """Builders and admins see every connection (None: no restriction); a `user` only
    logged-in-user ones (SPEC §1)."""
    return None if allowed(actor, Action.VIEW_ALL_CONNECTIONS) else [ConnectionLevel.USER]


def parse_level(value: str) -> ConnectionLevel:
    try:
        return ConnectionLevel(value)
    except ValueError:
        raise ValidationError("level", "must be admin, system or user") from None


def visible_apps(unit: Unit, actor: Principal, workspace_id: str) -> set[str] | None:
    """The apps whose connections a `user` may see: those granted to them (connections enabled
    for no app stay visible to every member, for direct use). None: no restriction."""
    if visible_levels(actor) is None or actor.user_id is None:
        return None
    return unit.apps.granted_app_ids(workspace_id, actor.user_id)


def may_see(unit: Unit, actor: Principal, connection: Connection) -> bool:
    """SPEC §1: builders and admins see every connection; a `user` sees logged-in-user ones,
    and of those enabled for an app only the ones of apps granted to them. An app token sees
    its own app's connections and the system connections its components use."""
    if actor.is_app:
        return connection.id in app_connection_ids(unit, actor)
    levels = visible_levels(actor)
    if levels is not None and connection.level not in levels:
        return False
    apps = visible_apps(unit, actor, connection.workspace_id)
    return apps is None or connection.app_id is None or connection.app_id in apps


def app_connection_ids(unit: Unit, actor: Principal) -> set[str]:
    assert actor.app_id is not None
    enabled = {c.id for c in unit.connections.of_app(actor.app_id)}
    return enabled | set(unit.apps.connection_ids_used(actor.app_id))


def visible_connections(unit: Unit, actor: Principal, workspace_id: str) -> list[Connection]:
    return [c for c in unit.connections.of_workspace(workspace_id) if may_see(unit, actor, c)]


def list_connections(
    unit: Unit, actor: Principal, *, workspace: str | None = None
) -> list[Connection]:
    ws = workspace_for(unit, actor, workspace)
    return visible_connections(unit, actor, ws.id)


def list_connections_with_status(
    unit: Unit,
    actor: Principal,
    *,
    workspace: str | None = None,
    service: str | None = None,
    level: str | None = None,
    search: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[tuple[Connection, AuthorizationStatus]]:
    """The connections the actor may see, by link name, filtered and paged in SQL (link names
    after ``after``, at most ``limit``), each with its status for the actor (see
    :func:`connection_status`); ``search`` matches the name or the link name."""
    ws = workspace_for(unit, actor, workspace)
    visible = None if actor.is_app else visible_levels(actor)
    if level is not None:
        wanted = parse_level(level)
        visible = [wanted] if visible is None or wanted in visible else []
    found = unit.connections.page(
        ws.id, levels=visible, apps=visible_apps(unit, actor, ws.id),
        ids=app_connection_ids(unit, actor) if actor.is_app else None,
        service=service, search=search, after=after, limit=limit,
    )  # fmt: skip
    # A user-level connection's status is only the viewer's own: read only their rows.
    personal = {c.id for c in found if c.level is ConnectionLevel.USER}
    statuses = unit.authorizations.statuses_of(
        (c.id for c in found), user_level=personal, viewer=actor.user_id
    )
    return [
        (c, connection_status(statuses_serving(c, statuses[c.id], actor.user_id))) for c in found
    ]


def status_of_connection(
    unit: Unit, actor: Principal, connection: Connection
) -> AuthorizationStatus:
    personal = {connection.id} if connection.level is ConnectionLevel.USER else set()
    statuses = unit.authorizations.statuses_of(
        [connection.id], user_level=personal, viewer=actor.user_id
    )[connection.id]
    return connection_status(statuses_serving(connection, statuses, actor.user_id))


def get_connection(
    unit: Unit, actor: Principal, link_name: str, *, workspace: str | None = None
) -> Connection:
    """A connection the actor may see; one they may not is reported as not found."""
    ws = workspace_for(unit, actor, workspace)
    connection = unit.connections.get(ws.id, link_name)
    if not may_see(unit, actor, connection):
        raise NotFound("connection", link_name)
    return connection


def edit_connection(
    unit: Unit,
    actor: Principal,
    link_name: str,
    *,
    name: str | None = None,
    scopes: Sequence[str] | None = None,
    all_scopes: bool = False,
    workspace: str | None = None,
) -> tuple[Connection, int]:
    """Rename, or change scopes. New scopes need new consent: returns how many authorizations
    were set to `needs_reauth`."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_CONNECTIONS)
    connection = unit.connections.get(ws.id, link_name)
    changes: dict[str, object] = {}
    if name is not None and check_display_name(name) != connection.name:
        changes["name"] = check_display_name(name)
    reauth = 0
    if scopes is not None or all_scopes:
        if connection.all_scopes:
            raise ValidationError(
                "scopes", "this connection uses all scopes, which cannot be narrowed"
            )
        entry = resolve_service(unit, ws.id, connection.service_link_name)
        new_scopes = scopes_for(entry.definition, scopes or (), all_scopes)
        if set(new_scopes) != set(connection.scopes) or all_scopes:
            changes.update(scopes=list(new_scopes), all_scopes=all_scopes)
    if not changes:
        return connection, 0
    updated = unit.connections.update(connection, actor_id=actor.user_id, now=unit.now(), **changes)
    if "scopes" in changes:
        record_reauthorization_events(
            unit, actor, connection.id, _edited_environments(unit, connection)
        )
        reauth = unit.connections.require_reauthorization(
            connection.id, "scopes changed: authorize again", unit.now(),
            environments=_edited_environments(unit, connection),
        )  # fmt: skip
    _audit(
        unit,
        actor,
        "connection.edit",
        updated,
        {
            "changed": sorted(changes),
            "needs_reauth": reauth,
        },
    )
    invalidate_resolutions(unit)  # invokes of this process read the edited connection at once
    return updated, reauth


def _edited_environments(unit: Unit, connection: Connection) -> list[str] | None:
    """Where an edit of the definition takes effect. Stage runs what its app last published
    (SPEC §6), so a per-environment stage authorization keeps its consent until the edit is
    published with a component; everything else must be granted again."""
    if not connection.per_environment or connection.app_id is None:
        return None
    version = unit.apps.version(connection.app_id)
    published = version is not None and any(
        c.get("link_name") == connection.link_name for c in version.snapshot.get("connections", [])
    )
    if not published:
        return None
    return [ALL_ENVIRONMENTS, Environment.DEVELOPMENT.value, Environment.PRODUCTION.value]


def delete_connection(
    unit: Unit, actor: Principal, link_name: str, *, workspace: str | None = None
) -> Connection:
    """Immediate when unreferenced; refused, listing the references, otherwise (SPEC §3)."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_CONNECTIONS)
    connection = unit.connections.get(ws.id, link_name)
    references = unit.connections.references(connection.id)
    if references:
        listed = ", ".join(
            f"{r.app_link_name}/{r.component_type.value} {r.component_name!r} "
            f"({r.environment.value})"
            for r in references
        )
        raise Conflict(
            f"connection {link_name!r} is used by {len(references)} component(s): {listed}; "
            "remove those references first",
            {
                "references": [
                    {
                        "app": r.app_link_name,
                        "component_type": r.component_type.value,
                        "component_name": r.component_name,
                        "environment": r.environment.value,
                    }
                    for r in references
                ]
            },
        )
    unit.connections.delete(connection)
    _audit(unit, actor, "connection.delete", connection, {})
    record_connection_event(unit, EventType.CONNECTION_DELETED, actor, connection)
    invalidate_resolutions(unit)  # invokes of this process stop at once
    return connection


def _audit(
    unit: Unit, actor: Principal, action: str, connection: Connection, detail: dict[str, object]
) -> None:
    unit.record(
        actor=actor,
        action=action,
        object_type="connection",
        object_id=connection.id,
        workspace_id=connection.workspace_id,
        detail={"link_name": connection.link_name, **detail},
    )
