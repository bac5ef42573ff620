"""What a consent needs before it starts: the service with the OAuth client it authorizes
against, and the authorization slots (environments) it fills."""

from __future__ import annotations

from collections.abc import Sequence

from plugboard.domain.authorizations import check_environment
from plugboard.domain.connections import Connection
from plugboard.domain.models import ALL_ENVIRONMENTS
from plugboard.domain.service import ServiceDefinition
from plugboard.errors import ValidationError
from plugboard.store.unit import Unit
from plugboard.usecases.services import ServiceEntry

__all__ = ["environment_keys", "service_with_client"]


def service_with_client(unit: Unit, workspace_id: str, entry: ServiceEntry) -> ServiceDefinition:
    """The service with its OAuth client: a custom service carries its own; a built-in one,
    and a custom one installed from a package (which never carries the client's secret), use
    the client the workspace registered (`plugboard services set-client`)."""
    definition = entry.definition
    if not entry.builtin:
        if _has_client_secret(definition):
            return definition
        registered = unit.service_clients.find(workspace_id, definition.link_name)
        if registered is None:
            return definition
        return definition.with_oauth_client(registered.client_id, registered.client_secret)
    registration = unit.service_clients.find(workspace_id, definition.link_name)
    if registration is None:
        raise ValidationError(
            "service",
            f"no OAuth client is registered for {definition.link_name!r} in this workspace: "
            f"register your app's client id and secret with `plugboard services set-client "
            f"{definition.link_name}`",
        )
    return definition.with_oauth_client(registration.client_id, registration.client_secret)


def _has_client_secret(definition: ServiceDefinition) -> bool:
    if definition.oauth2 is not None:
        return definition.oauth2.client_secret is not None
    if definition.oauth1 is not None:
        return definition.oauth1.consumer_secret is not None
    return True


def environment_keys(
    unit: Unit, workspace_id: str, connection: Connection, environments: Sequence[str]
) -> list[str]:
    """The authorization slots a consent fills: one shared slot, or the named environments."""
    if not connection.per_environment:
        return [ALL_ENVIRONMENTS]
    ws = unit.workspaces.by_id(workspace_id)
    if not environments:
        raise ValidationError(
            "environment", "is required: this connection has one authorization per environment"
        )
    return sorted({check_environment(ws.kind, env).value for env in environments})
