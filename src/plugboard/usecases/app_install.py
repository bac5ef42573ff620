"""Installing, updating and importing a package (SPEC §6 "Install", "Import").

Install (client workspace): the app's connections arrive as *installed connections* with the
same link names, unauthorized, its components run in `production`. Installing a newer version
of the same app (same source) updates it in place and keeps every authorization; a connection
whose scopes grew needs re-authorization. Import (developer workspace) always makes a new app to
build on. Either way a link name the workspace already uses for something else gets a
`_copy` name, and the app's components are rewritten to it. The package is verified before
anything is written, and a refusal leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from plugboard.domain.apps import (
    App,
    ComponentUses,
    copy_display_name,
    copy_link_name,
    environment_of_copy,
)
from plugboard.domain.events import EventType
from plugboard.domain.models import ConnectionLevel, Environment, WorkspaceKind
from plugboard.domain.packages import PackageConnection, PackageContent, read_package
from plugboard.domain.permissions import Action, require
from plugboard.domain.principal import Principal
from plugboard.domain.service import parse_service
from plugboard.errors import Conflict, NotFound, ValidationError
from plugboard.store.unit import Unit
from plugboard.usecases.apps import audit, connection_ids_for
from plugboard.usecases.connections import check_level, scopes_for
from plugboard.usecases.events import record_app_event, record_reauthorization_events
from plugboard.usecases.identity import workspace_for
from plugboard.usecases.invoke_invalidation import invalidate_resolutions
from plugboard.usecases.services import resolve_service


@dataclass
class InstallReport:
    """What an install, update or import did, for the person who ran it."""

    app: App
    previous_version: int | None  # set when an installed app was updated
    environment: Environment
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    needs_reauth: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # package link name -> link name here
    removed: list[str] = field(default_factory=list)  # no longer in the package; kept here
    services_created: list[str] = field(default_factory=list)


def install_package(
    unit: Unit,
    actor: Principal,
    raw: bytes,
    *,
    workspace: str | None = None,
    http_hosts: Collection[str] = (),
) -> InstallReport:
    """Install a package into a client workspace, or update the app it installed before."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.INSTALL_APPS)
    if ws.kind is not WorkspaceKind.CLIENT:
        raise ValidationError(
            "workspace",
            "packages are installed into a client workspace; import one into a developer "
            "workspace (`plugboard apps import`)",
        )
    content = read_package(raw)
    existing = unit.apps.by_source(ws.id, content.app.source)
    if existing is not None and content.app.version <= existing.version:
        raise Conflict(
            f"app {existing.link_name!r} is installed at version {existing.version}; this package "
            f"is version {content.app.version}: only a newer version updates it",
            {"rule": "newer_version_only", "installed": existing.version},
        )
    return _arrive(unit, actor, ws.id, content, existing, "installed", http_hosts)


def import_package(
    unit: Unit,
    actor: Principal,
    raw: bytes,
    *,
    workspace: str | None = None,
    http_hosts: Collection[str] = (),
) -> InstallReport:
    """Import a package as a new app, never an update: in a developer workspace its components
    arrive in development to be built on, in a client workspace in production."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.INSTALL_APPS)
    content = read_package(raw)
    return _arrive(unit, actor, ws.id, content, None, "imported", http_hosts)


def _arrive(
    unit: Unit,
    actor: Principal,
    workspace_id: str,
    content: PackageContent,
    existing: App | None,
    origin: str,
    http_hosts: Collection[str],
) -> InstallReport:
    ws = unit.workspaces.by_id(workspace_id)
    now = unit.now()
    if existing is None:
        link = content.app.link_name
        if link in unit.apps.link_names_in(ws.id):
            link = copy_link_name(link, unit.apps.link_names_in(ws.id))
        app = unit.apps.add(
            workspace_id=ws.id, link_name=link, name=content.app.name, actor_id=actor.user_id,
            now=now, origin=origin, version=content.app.version,
            source=content.app.source if origin == "installed" else None,
        )  # fmt: skip
    else:
        app = unit.apps.update(existing, name=content.app.name, version=content.app.version)
    report = InstallReport(
        app=app,
        previous_version=existing.version if existing else None,
        environment=environment_of_copy(ws.kind is WorkspaceKind.CLIENT),
    )
    _create_services(unit, actor, ws.id, content, http_hosts, report)
    links = _place_connections(unit, actor, app, content, origin, report)
    unit.apps.delete_components(app.id, report.environment)
    for component in content.components:
        uses = ComponentUses(
            tuple(links[c] for c in component.connections), tuple(component.services)
        )
        unit.apps.put_component(
            app, environment=report.environment, kind=component.kind, name=component.name,
            uses=uses, connection_ids=connection_ids_for(unit, app, uses, enable=False),
            actor_id=actor.user_id, now=now,
        )  # fmt: skip
    audit(
        unit, actor, "app.install" if origin == "installed" else "app.import", app,
        {"version": content.app.version, "previous_version": report.previous_version,
         "source": content.app.source, "added": report.added, "updated": report.updated,
         "needs_reauth": report.needs_reauth, "renamed": report.renamed},
    )  # fmt: skip
    record_app_event(
        unit, EventType.APP_INSTALLED, actor, app, version=content.app.version, origin=origin
    )
    # The app's connections and the services they use may have changed: invokes of this
    # process read them again at once.
    invalidate_resolutions(unit)
    return report


def _create_services(
    unit: Unit,
    actor: Principal,
    workspace_id: str,
    content: PackageContent,
    http_hosts: Collection[str],
    report: InstallReport,
) -> None:
    """The custom services the app's connections need; a service the workspace already has
    (custom or built-in) is used as it is."""
    for i, data in enumerate(content.services):
        link = str(data.get("link_name", ""))
        try:
            resolve_service(unit, workspace_id, link)
            continue
        except NotFound:  # the workspace lacks it: made from the package's definition
            pass
        try:
            definition = parse_service(data, builtin=False, http_hosts=http_hosts, installed=True)
        except ValidationError as exc:
            raise ValidationError(f"services[{i}].{exc.field}", exc.rule) from None
        unit.custom_services.add(workspace_id, definition, actor.user_id, unit.now())
        report.services_created.append(definition.link_name)


def _place_connections(
    unit: Unit,
    actor: Principal,
    app: App,
    content: PackageContent,
    origin: str,
    report: InstallReport,
) -> dict[str, str]:
    """Create or update each connection the package defines; returns package link name ->
    link name in this workspace."""
    links: dict[str, str] = {}
    taken = unit.connections.link_names_in(app.workspace_id)
    for i, definition in enumerate(content.connections):
        current = unit.connections.find(app.workspace_id, definition.link_name)
        if current is not None and current.app_id == app.id and report.previous_version is not None:
            _update_connection(unit, actor, current.id, definition, report)
            links[definition.link_name] = current.link_name
            continue
        link = definition.link_name
        name = definition.name
        if link in taken:
            link = copy_link_name(link, taken)
            name = copy_display_name(definition.name)
            report.renamed[definition.link_name] = link
        level = ConnectionLevel(definition.level)
        entry = resolve_service(unit, app.workspace_id, definition.service)
        service = entry.definition
        try:
            check_level(service, level)
            scopes = scopes_for(service, definition.scopes, definition.all_scopes)
            values = service.resolve_dynamic_values(dict(definition.params))
        except ValidationError as exc:
            raise ValidationError(f"connections[{i}].{exc.field}", exc.rule) from None
        created = unit.connections.add(
            workspace_id=app.workspace_id, link_name=link, name=name,
            service_link_name=service.link_name,
            custom_service_id=entry.custom.id if entry.custom else None,
            level=level, per_environment=definition.per_environment, scopes=scopes,
            all_scopes=definition.all_scopes, dynamic_values=values, actor_id=actor.user_id,
            now=unit.now(), origin="installed" if origin == "installed" else "created",
        )  # fmt: skip
        unit.connections.set_app(created.id, app.id)
        unit.connections.lock_access([created.id])
        taken.add(link)
        links[definition.link_name] = link
        report.added.append(link)
    if report.previous_version is not None:
        kept = set(links.values())
        for connection in unit.connections.of_app(app.id):
            if connection.link_name not in kept:
                report.removed.append(connection.link_name)
    return links


def _update_connection(
    unit: Unit, actor: Principal, connection_id: str, definition: PackageConnection,
    report: InstallReport,
) -> None:  # fmt: skip
    """A newer version of an installed connection: its authorizations stay; scopes that grew
    need consent again (SPEC §3)."""
    current = unit.connections.by_id(connection_id)
    changes: dict[str, object] = {}
    if definition.name != current.name:
        changes["name"] = definition.name
    grew = not set(definition.scopes) <= set(current.scopes)
    if set(definition.scopes) != set(current.scopes) or definition.all_scopes != current.all_scopes:
        changes.update(scopes=list(definition.scopes), all_scopes=definition.all_scopes)
    if not changes:
        report.unchanged.append(current.link_name)
        return
    unit.connections.update(current, actor_id=actor.user_id, now=unit.now(), **changes)
    report.updated.append(current.link_name)
    record_reauthorization_events(
        unit,
        actor,
        current.id,
        when=grew,
        detail="the app's update asks for more scopes: authorize again",
    )
    if grew and unit.connections.require_reauthorization(
        current.id, "the app's update asks for more scopes: authorize again", unit.now()
    ):
        report.needs_reauth.append(current.link_name)
