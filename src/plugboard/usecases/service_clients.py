"""Registering the OAuth client (id and secret) a workspace uses for a built-in service.

Built-in service files carry no client credentials: each Plugboard installation registers its own
OAuth app with the provider and records it here, sealed.
"""

from __future__ import annotations

from plugboard.domain.naming import check_link_name
from plugboard.domain.permissions import Action, require
from plugboard.domain.principal import Principal
from plugboard.errors import ValidationError
from plugboard.store.service_clients import ServiceClient
from plugboard.store.unit import Unit
from plugboard.usecases.identity import workspace_for


def set_service_client(
    unit: Unit,
    actor: Principal,
    *,
    service: str,
    client_id: str,
    client_secret: str | None,
    workspace: str | None = None,
) -> ServiceClient:
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_SERVICES)
    check_link_name(service, "service")
    if not 1 <= len(client_id.strip()) <= 255:
        raise ValidationError("client_id", "must be 1 to 255 characters")
    if client_secret is not None and not client_secret:
        raise ValidationError("client_secret", "must not be empty when given")
    registration = unit.service_clients.put(
        ws.id, service, client_id.strip(), client_secret, unit.now(), actor.user_id
    )
    unit.record(
        actor=actor,
        action="service_client.set",
        object_type="service_client",
        object_id=registration.id,
        workspace_id=ws.id,
        detail={
            "service": service,
            "client_id": registration.client_id,
            "client_secret_set": client_secret is not None,
        },
    )
    return registration
