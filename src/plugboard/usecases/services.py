"""The service catalog as a workspace sees it, and custom services (SPEC §2)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from plugboard.catalog import loader as catalog
from plugboard.domain.custom_services import CustomService
from plugboard.domain.permissions import Action, require
from plugboard.domain.principal import Principal
from plugboard.domain.service import ServiceDefinition, load_service_file
from plugboard.domain.service_edits import check_service_edit
from plugboard.errors import NotFound, PermissionDenied, ValidationError
from plugboard.store.unit import Unit
from plugboard.usecases.identity import workspace_for


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """A service as listed: built-in or custom, with who made a custom one."""

    definition: ServiceDefinition
    builtin: bool
    custom: CustomService | None = None

    @property
    def link_name(self) -> str:
        return self.definition.link_name


def resolve_service(unit: Unit, workspace_id: str, link_name: str) -> ServiceEntry:
    """A custom service of the workspace, else a built-in one."""
    return service_entry(unit.custom_services.find(workspace_id, link_name), link_name)


def service_entry(custom: CustomService | None, link_name: str) -> ServiceEntry:
    """``custom`` (the workspace's custom service of that link name, as read), else the
    built-in service ``link_name``."""
    if custom is not None:
        return ServiceEntry(custom.definition, builtin=False, custom=custom)
    builtin = catalog.builtin_services().get(link_name)
    if builtin is None:
        raise NotFound("service", link_name)
    return ServiceEntry(builtin, builtin=True)


def page_services(
    unit: Unit,
    actor: Principal,
    *,
    workspace: str | None = None,
    category: str | None = None,
    search: str | None = None,
    custom_only: bool = False,
    after: str | None = None,
    limit: int | None = None,
) -> list[ServiceEntry]:
    """The services by link name after ``after``, at most ``limit``: the workspace's custom
    ones read from the store a page at a time (until ``limit`` match the filters), merged with
    the built-in catalog (in memory). Link names are unique across both: a custom service may
    not take a built-in's."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.VIEW_SERVICES)
    entries: list[ServiceEntry] = []
    if not custom_only:
        entries = [
            ServiceEntry(d, builtin=True)
            for d in catalog.builtin_services().values()
            if (after is None or d.link_name > after) and catalog.matches(d, category, search)
        ]
    customs = 0
    cursor = after
    while True:  # bounded: each round reads past the previous one's last link name
        chunk = unit.custom_services.page(ws.id, after=cursor, limit=limit)
        for c in chunk:
            if catalog.matches(c.definition, category, search):
                entries.append(ServiceEntry(c.definition, builtin=False, custom=c))
                customs += 1
        if limit is None or len(chunk) < limit or customs >= limit:
            break
        cursor = chunk[-1].link_name
    # Enough custom ones read: any later one sorts after the first `limit` of the merge.
    ordered = sorted(entries, key=lambda e: e.link_name)
    return ordered if limit is None else ordered[:limit]


def show_service(
    unit: Unit, actor: Principal, link_name: str, *, workspace: str | None = None
) -> ServiceEntry:
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.VIEW_SERVICES)
    return resolve_service(unit, ws.id, link_name)


def create_custom_service(
    unit: Unit,
    actor: Principal,
    text: str,
    *,
    workspace: str | None = None,
    http_hosts: Collection[str] = (),
) -> CustomService:
    """`http_hosts`: the operator's development allowance (settings.allow_http_hosts)."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_SERVICES)
    definition = load_service_file(text, builtin=False, http_hosts=http_hosts)
    if definition.link_name in catalog.builtin_services():
        raise ValidationError(
            "link_name",
            f"{definition.link_name!r} is the link name of a built-in service; choose another",
        )
    service = unit.custom_services.add(ws.id, definition, actor.user_id, unit.now())
    _audit(unit, actor, "service.create", service, {"auth_type": definition.auth_type.value})
    return service


def edit_custom_service(
    unit: Unit,
    actor: Principal,
    link_name: str,
    text: str,
    *,
    workspace: str | None = None,
    http_hosts: Collection[str] = (),
) -> tuple[CustomService, int]:
    """Apply an edit the editing table allows; return the service and how many authorizations
    it disconnected. An edit invalidates every authorization of the service's connections
    (SPEC §2): their credentials are deleted and they become not_connected (SPEC §5)."""
    ws = workspace_for(unit, actor, workspace)
    service = _own_custom_service(unit, actor, ws.id, link_name, "edit")
    new = load_service_file(text, builtin=False, http_hosts=http_hosts)
    changed = check_service_edit(service.definition, new)
    if not changed:
        return service, 0
    updated = unit.custom_services.replace(service, new, actor.user_id, unit.now())
    disconnected = _disconnect_connections_of(unit, actor, service, "service edited", unit.now())
    _audit(unit, actor, "service.edit", updated, {"changed": changed, "disconnected": disconnected})
    return updated, disconnected


def delete_custom_service(
    unit: Unit, actor: Principal, link_name: str, *, workspace: str | None = None
) -> int:
    """Delete it; its connections stay, their credentials deleted and their authorizations
    not_connected. Returns how many authorizations were disconnected."""
    ws = workspace_for(unit, actor, workspace)
    service = _own_custom_service(unit, actor, ws.id, link_name, "delete")
    disconnected = _disconnect_connections_of(unit, actor, service, "service deleted", unit.now())
    unit.custom_services.delete(service)
    _audit(unit, actor, "service.delete", service, {"disconnected": disconnected})
    return disconnected


def _own_custom_service(
    unit: Unit, actor: Principal, workspace_id: str, link_name: str, verb: str
) -> CustomService:
    require(actor, Action.MANAGE_SERVICES)
    service = unit.custom_services.find(workspace_id, link_name)
    if service is None:
        if link_name in catalog.builtin_services():
            raise ValidationError("service", f"built-in services cannot be {verb}ed")
        raise NotFound("service", link_name)
    if not actor.is_operator and service.created_by != actor.user_id:
        raise PermissionDenied(
            f"{verb} custom service {link_name!r}",
            actor.role,
            f"only the creator of custom service {link_name!r} may {verb} it",
        )
    return service


def _disconnect_connections_of(
    unit: Unit, actor: Principal, service: CustomService, why: str, now: datetime
) -> int:
    total = 0
    for connection in unit.connections.of_custom_service(service.id):
        disconnected = unit.connections.disconnect_all(connection.id, why, now)
        total += disconnected
        if disconnected:
            unit.record(
                actor=actor,
                action="authorization.disconnect",
                object_type="connection",
                object_id=connection.id,
                workspace_id=connection.workspace_id,
                detail={"connection": connection.link_name, "reason": why, "count": disconnected},
            )
    return total


def _audit(
    unit: Unit, actor: Principal, action: str, service: CustomService, detail: dict[str, object]
) -> None:
    unit.record(
        actor=actor,
        action=action,
        object_type="service",
        object_id=service.id,
        workspace_id=service.workspace_id,
        detail={"link_name": service.link_name, **detail},
    )
