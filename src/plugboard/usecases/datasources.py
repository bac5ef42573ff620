"""Datasources (SPEC §8): create one on an app's `datasource` component, configure and
reconfigure it, enable or disable it, read the records its syncs keep.

Configuring is refused, each time naming the rule, unless the connection is authorized (its
primary account, for a user-level one), has app access for the app, the datasource is enabled,
and neither the connection's service nor the module is deprecated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from plugboard.domain.apps import App, check_component_name
from plugboard.domain.authorizations import environment_key, usable
from plugboard.domain.connections import Connection
from plugboard.domain.datasources import (
    Datasource,
    check_config_values,
    configuration_refusal,
)
from plugboard.domain.models import ComponentType, ConnectionLevel, Environment
from plugboard.domain.naming import check_link_name
from plugboard.domain.permissions import Action, allowed
from plugboard.domain.principal import Principal
from plugboard.domain.service import ServiceDefinition
from plugboard.domain.service.modules import ServiceModule
from plugboard.errors import NotFound, PermissionDenied, ValidationError
from plugboard.store.datasource_records import StoredRecord
from plugboard.store.unit import Unit
from plugboard.usecases import apps
from plugboard.usecases.apps import app_for, audit, environment_for
from plugboard.usecases.services import resolve_service

RECORDS_PAGE_MAX = 1000
ID_MAX = 200  # longer than any id Plugboard gives (and than a service's record id column)


def _usable_key(value: str) -> bool:
    """Whether ``value`` could be a stored id or name at all: PostgreSQL refuses a NUL byte in
    text outright (a 500), so such a value is answered as not found or invalid instead."""
    return len(value) <= ID_MAX and "\x00" not in value


@dataclass(frozen=True, slots=True)
class DatasourceView:
    """A datasource with what is shown beside it: its app, connection, service and module."""

    datasource: Datasource
    app: App
    connection: Connection
    service: ServiceDefinition
    module: ServiceModule


def require_manage(actor: Principal) -> None:
    """Super admins, admins and developers define and configure datasources (the reference's
    "Associated Datasources"): whoever builds, installs or grants apps."""
    if not any(
        allowed(actor, a) for a in (Action.MANAGE_APPS, Action.INSTALL_APPS, Action.GRANT_APPS)
    ):
        raise PermissionDenied("manage datasources", actor.role)


def view(unit: Unit, app: App, datasource: Datasource) -> DatasourceView:
    connection = unit.connections.by_id(datasource.connection_id)
    service = resolve_service(unit, app.workspace_id, connection.service_link_name).definition
    return view_of(datasource, app, connection, service)


def view_of(
    datasource: Datasource, app: App, connection: Connection, service: ServiceDefinition
) -> DatasourceView:
    return DatasourceView(datasource, app, connection, service, service.module(datasource.module))


def find_datasource(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    name: str,
    *,
    environment: str | None = None,
    workspace: str | None = None,
) -> DatasourceView:
    app = app_for(unit, actor, app_link_name, workspace)
    env = environment_for(unit.workspaces.by_id(app.workspace_id), environment)
    found = unit.datasources.find(app.id, env, name) if _usable_key(name) else None
    if found is None:
        raise NotFound("datasource", name)
    return view(unit, app, found)


def datasource_by_id(unit: Unit, actor: Principal, datasource_id: str) -> DatasourceView:
    """A datasource by id, when the actor may see its app; otherwise not found."""
    if not _usable_key(datasource_id):
        raise NotFound("datasource", datasource_id)
    try:
        found = unit.datasources.by_id(datasource_id)
        app = unit.apps.by_id(found.app_id)
        app_for(unit, actor, app.link_name, unit.workspaces.by_id(app.workspace_id).name)
    except (NotFound, PermissionDenied):
        raise NotFound("datasource", datasource_id) from None
    return view(unit, app, found)


def list_datasources(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    *,
    environment: str | None = None,
    workspace: str | None = None,
) -> list[DatasourceView]:
    app = app_for(unit, actor, app_link_name, workspace)
    env = environment_for(unit.workspaces.by_id(app.workspace_id), environment)
    return [view(unit, app, d) for d in unit.datasources.of_app(app.id, env)]


def create_datasource(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    *,
    name: str,
    connection: str,
    module: str,
    environment: str | None = None,
    workspace: str | None = None,
) -> DatasourceView:
    """A datasource on the app's `datasource` component ``name``: in development the component
    is written (using ``connection``); elsewhere it must exist already (published or installed)
    and use the connection."""
    require_manage(actor)
    app = app_for(unit, actor, app_link_name, workspace)
    env = environment_for(unit.workspaces.by_id(app.workspace_id), environment)
    component_name = check_component_name(name)
    if any(ord(c) < 32 for c in component_name):
        raise ValidationError("name", "must not contain control characters")
    conn = unit.connections.get(app.workspace_id, check_link_name(connection, "connection"))
    service = resolve_service(unit, app.workspace_id, conn.service_link_name).definition
    service.module(check_link_name(module, "module"))
    if env is Environment.DEVELOPMENT:
        apps.put_component(
            unit, actor, app.link_name, kind=ComponentType.DATASOURCE.value, name=component_name,
            connections=[conn.link_name], workspace=_workspace_name(unit, app),
        )  # fmt: skip
    else:
        component = unit.apps.find_component(app.id, env, ComponentType.DATASOURCE, component_name)
        if component is None or conn.link_name not in component.uses.connections:
            raise ValidationError(
                "name",
                f"no datasource component {component_name!r} using {conn.link_name!r} in "
                f"{env.value}: publish or install it first",
            )
    created = unit.datasources.add(
        workspace_id=app.workspace_id, app_id=app.id, environment=env, name=component_name,
        connection_id=conn.id, module=module, actor_id=actor.user_id, now=unit.now(),
    )  # fmt: skip
    audit(
        unit, actor, "datasource.create", app,
        {"datasource": component_name, "connection": conn.link_name, "module": module,
         "environment": env.value},
    )  # fmt: skip
    return view(unit, app, created)


def authorized_for(
    unit: Unit, connection: Connection, env: Environment, user_id: str | None
) -> bool:
    """Whether the authorization a sync would use is connected: the shared one, or on a
    user-level connection the user's own (the primary account without a user)."""
    key = environment_key(connection.per_environment, env)
    if connection.level is ConnectionLevel.USER:
        found = unit.accounts.authorized_account(
            connection.id, key, user_id, primary=user_id is None, open_it=False
        )
    else:
        found = unit.accounts.authorized_account(connection.id, key, None, open_it=False)
    return found is not None and usable(found.authorization.status)


def check_usable(unit: Unit, found: DatasourceView, user_id: str | None) -> None:
    """Raise the refusal (naming its rule) that keeps the datasource from being configured or
    synced for ``user_id`` (None: no user, the primary account)."""
    refusal = configuration_refusal(
        connection=found.connection, app_id=found.app.id, service=found.service,
        module=found.module, datasource_enabled=found.datasource.enabled,
        authorized=authorized_for(unit, found.connection, found.datasource.environment, user_id),
    )  # fmt: skip
    if refusal is not None:
        raise refusal


def configure(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    name: str,
    values: Mapping[str, str],
    *,
    environment: str | None = None,
    workspace: str | None = None,
) -> DatasourceView:
    """Configure (or reconfigure) the datasource with the module's config fields."""
    require_manage(actor)
    found = find_datasource(
        unit, actor, app_link_name, name, environment=environment, workspace=workspace
    )
    check_usable(unit, found, None)
    config = check_config_values(found.module, values)
    again = found.datasource.config is not None
    updated = unit.datasources.update(
        found.datasource.id, config=config, configured_by=actor.user_id,
        configured_at=unit.now(),
    )  # fmt: skip
    audit(
        unit, actor, "datasource.reconfigure" if again else "datasource.configure", found.app,
        {"datasource": updated.name, "fields": sorted(config)},
    )  # fmt: skip
    return view(unit, found.app, updated)


def set_enabled(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    name: str,
    enabled: bool,
    *,
    environment: str | None = None,
    workspace: str | None = None,
) -> DatasourceView:
    require_manage(actor)
    found = find_datasource(
        unit, actor, app_link_name, name, environment=environment, workspace=workspace
    )
    updated = unit.datasources.update(found.datasource.id, enabled=enabled)
    if updated.enabled != found.datasource.enabled:
        action = "datasource.enable" if enabled else "datasource.disable"
        audit(unit, actor, action, found.app, {"datasource": updated.name})
    return view(unit, found.app, updated)


def delete_datasource(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    name: str,
    *,
    environment: str | None = None,
    workspace: str | None = None,
) -> None:
    """Forget the datasource, its syncs and its records (the component stays)."""
    require_manage(actor)
    found = find_datasource(
        unit, actor, app_link_name, name, environment=environment, workspace=workspace
    )
    unit.datasources.delete(found.datasource.id)
    audit(unit, actor, "datasource.delete", found.app, {"datasource": found.datasource.name})


def list_records(
    unit: Unit,
    actor: Principal,
    datasource_id: str,
    *,
    after: str | None = None,
    limit: int = 100,
) -> tuple[DatasourceView, list[StoredRecord]]:
    if not 1 <= limit <= RECORDS_PAGE_MAX:
        raise ValidationError("limit", f"must be 1 to {RECORDS_PAGE_MAX}")
    if after is not None and not _usable_key(after):
        raise ValidationError("after", "must be the next_cursor of a previous page")
    found = datasource_by_id(unit, actor, datasource_id)
    return found, unit.datasource_records.page(found.datasource.id, after=after, limit=limit)


def _workspace_name(unit: Unit, app: App) -> str:
    return unit.workspaces.by_id(app.workspace_id).name
