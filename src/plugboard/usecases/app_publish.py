"""Publishing an app to stage, and writing its package (SPEC §6 "Stage", "Package").

Publishing snapshots the selected development components, together with every connection they
reference, as the next numbered version. A connection's change reaches stage only with a
component that references it: connections used only by components that were not selected keep
the definition the previous version published. System connections are never in a snapshot: a
component that uses one names its service instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plugboard.domain.apps import App, AppVersion, Component, ComponentUses, check_component_kind
from plugboard.domain.connections import Connection
from plugboard.domain.events import EventType
from plugboard.domain.models import ConnectionLevel, Environment
from plugboard.domain.packages import FORMAT, check_content, digest_of, service_for_package
from plugboard.domain.permissions import Action, require
from plugboard.domain.principal import Principal
from plugboard.errors import NotFound, ValidationError
from plugboard.store.unit import Unit
from plugboard.usecases.apps import audit, connection_ids_for
from plugboard.usecases.events import record_app_event
from plugboard.usecases.identity import workspace_for

ComponentKey = tuple[str, str]  # (kind, name)


def publish_to_stage(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    *,
    components: Sequence[str] | None = None,
    workspace: str | None = None,
) -> AppVersion:
    """Publish ``components`` ("kind/name"; None: all of them, and stage loses the ones
    development no longer has) as the app's next stage version."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.PUBLISH_APPS)
    app = unit.apps.get(ws.id, app_link_name)
    development = {
        (c.kind.value, c.name): c for c in unit.apps.components(app.id, Environment.DEVELOPMENT)
    }
    if not development:
        raise ValidationError("components", f"app {app.link_name!r} has no components to publish")
    selected = _selected(development, components)
    previous = unit.apps.version(app.id)
    before: dict[str, Any] = previous.snapshot if previous else {}
    published = _previous_components(before) if components is not None else {}
    for key in selected:
        published[key] = _component_entry(development[key], unit, app)
    chosen_links = {link for key in selected for link in published[key]["connections"]}
    earlier = {c["link_name"]: c for c in before.get("connections", [])}
    definitions: dict[str, dict[str, Any]] = {}
    for entry in published.values():
        for link in entry["connections"]:
            if link in definitions:
                continue
            if link in chosen_links or link not in earlier:
                definitions[link] = _definition(unit.connections.get(ws.id, link))
            else:
                definitions[link] = earlier[link]
    content: dict[str, Any] = {
        "format": FORMAT,
        "app": {
            "link_name": app.link_name, "name": app.name, "version": app.version + 1,
            "source": f"{ws.name}/{app.link_name}",
        },
        "components": [published[k] for k in sorted(published)],
        "connections": [definitions[link] for link in sorted(definitions)],
        "services": _custom_services(unit, ws.id, definitions.values()),
    }  # fmt: skip
    check_content(content)
    version = unit.apps.add_version(
        app, snapshot=content, digest=digest_of(content), actor_id=actor.user_id, now=unit.now()
    )
    _stage_consents_for_new_scopes(unit, ws.id, earlier, definitions)
    _write_stage(unit, unit.apps.by_id(app.id), content, actor)
    unit.connections.lock_access([unit.connections.get(ws.id, link).id for link in definitions])
    audit(
        unit, actor, "app.publish", app,
        {"version": version.number, "environment": "stage",
         "components": [f"{k}/{n}" for k, n in selected]},
    )  # fmt: skip
    record_app_event(unit, EventType.APP_PUBLISHED, actor, app, version=version.number)
    return version


def _stage_consents_for_new_scopes(
    unit: Unit,
    workspace_id: str,
    earlier: dict[str, dict[str, Any]],
    definitions: dict[str, dict[str, Any]],
) -> None:
    """Scopes that grew reach stage now: its own authorizations must be granted again."""
    for link, definition in definitions.items():
        before = earlier.get(link)
        if before is not None and not set(definition["scopes"]) <= set(before["scopes"]):
            unit.connections.require_reauthorization(
                unit.connections.get(workspace_id, link).id,
                "scopes changed in the published version: authorize again",
                unit.now(),
                environments=[Environment.STAGE.value],
            )


def package_content(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    *,
    version: int | None = None,
    workspace: str | None = None,
) -> tuple[AppVersion, dict[str, Any]]:
    """The content of a stage version (the newest when ``version`` is None), for a package."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.PUBLISH_APPS)
    app = unit.apps.get(ws.id, app_link_name)
    found = unit.apps.version(app.id, version)
    if found is None:
        which = f"version {version}" if version is not None else "a stage version"
        raise NotFound(
            "app version", f"{app.link_name} {which}",
            f"app {app.link_name!r} has no {which}: publish it to stage first",
        )  # fmt: skip
    audit(unit, actor, "app.package", app, {"version": found.number})
    return found, found.snapshot


def _selected(
    development: dict[ComponentKey, Component], components: Sequence[str] | None
) -> list[ComponentKey]:
    if components is None:
        return sorted(development)
    chosen: list[ComponentKey] = []
    for i, spec in enumerate(components):
        kind, _, name = spec.partition("/")
        if (kind, name) not in development:
            raise ValidationError(
                f"components[{i}]", f"{spec!r} is not a development component (kind/name)"
            )
        chosen.append((kind, name))
    if not chosen:
        raise ValidationError("components", "select at least one component")
    return sorted(set(chosen))


def _previous_components(snapshot: dict[str, Any]) -> dict[ComponentKey, dict[str, Any]]:
    return {(c["kind"], c["name"]): dict(c) for c in snapshot.get("components", [])}


def _component_entry(component: Component, unit: Unit, app: App) -> dict[str, Any]:
    """A component as a package carries it: a system connection it names by link name
    becomes its service, since system connections are never bundled."""
    connections: list[str] = []
    services = list(component.uses.services)
    for link in component.uses.connections:
        connection = unit.connections.get(app.workspace_id, link)
        if connection.level is ConnectionLevel.SYSTEM:
            if connection.service_link_name not in services:
                services.append(connection.service_link_name)
        else:
            connections.append(link)
    return {
        "kind": component.kind.value,
        "name": component.name,
        "connections": connections,
        "services": services,
    }


def _definition(connection: Connection) -> dict[str, Any]:
    return {
        "link_name": connection.link_name,
        "name": connection.name,
        "service": connection.service_link_name,
        "level": connection.level.value,
        "per_environment": connection.per_environment,
        "scopes": list(connection.scopes),
        "all_scopes": connection.all_scopes,
        "params": dict(connection.dynamic_values),
    }


def _custom_services(unit: Unit, workspace_id: str, definitions: Any) -> list[dict[str, Any]]:
    wanted = sorted({d["service"] for d in definitions})
    found = []
    for link in wanted:
        custom = unit.custom_services.find(workspace_id, link)
        if custom is not None:
            found.append(service_for_package(custom.definition.to_data()))
    return found


def _write_stage(unit: Unit, app: App, content: dict[str, Any], actor: Principal) -> None:
    """Replace the stage components with the version's, and the references they make."""
    unit.apps.delete_components(app.id, Environment.STAGE)
    for entry in content["components"]:
        uses = ComponentUses(tuple(entry["connections"]), tuple(entry["services"]))
        ids = connection_ids_for(unit, app, uses, enable=False)
        unit.apps.put_component(
            app, environment=Environment.STAGE, kind=check_component_kind(entry["kind"]),
            name=entry["name"], uses=uses, connection_ids=ids, actor_id=actor.user_id,
            now=unit.now(),
        )  # fmt: skip
