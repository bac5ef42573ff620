"""Storing a credential for a connection (SPEC §5 "Authorize" for API Key, Basic and AWS; the
OAuth flows store their tokens through the same function once the consent completes).

One call creates a linked account holding the sealed credential and points the authorization
for (connection, environment[, user]) at it.
"""

from __future__ import annotations

from datetime import datetime

from plugboard.domain.authorizations import (
    check_environment,
    environment_key,
    may_authorize,
)
from plugboard.domain.connections import AuthorizationSummary, Connection
from plugboard.domain.credentials import (
    Credential,
    auth_type_of,
    check_credential,
    credential_to_data,
)
from plugboard.domain.events import EventType
from plugboard.domain.models import ConnectionLevel, Environment, Role
from plugboard.domain.naming import check_email
from plugboard.domain.principal import Principal
from plugboard.errors import Conflict, NotFound, PermissionDenied, ValidationError
from plugboard.store.unit import Unit
from plugboard.usecases.events import record_authorization_event
from plugboard.usecases.identity import workspace_for
from plugboard.usecases.services import resolve_service

__all__ = ["becomes_primary", "store_credential"]

_ACCOUNT_NAME_MAX = 100


def becomes_primary(
    unit: Unit, conn: Connection, env_key: str, owner_user_id: str | None, owner_role: Role | None
) -> bool:
    """Whether a user-level authorization for ``owner_user_id`` in slot ``env_key`` becomes the
    primary account; refused (Conflict) while there is none and the owner is no super admin."""
    primary = unit.accounts.primary_authorization(conn.id, env_key)
    if primary is None or primary.owner_user_id == owner_user_id:
        # SPEC §4: the first super admin who authorizes becomes primary; until then nobody
        # else may authorize.
        if owner_role is not Role.SUPER_ADMIN:
            raise Conflict(
                f"connection {conn.link_name!r} has no primary account yet: a super admin must "
                "authorize it first"
            )
        return True
    return False


def store_credential(
    unit: Unit,
    actor: Principal,
    *,
    connection: str,
    credential: Credential,
    environment: str | None = None,
    owner: str | None = None,
    account_name: str | None = None,
    expires_at: datetime | None = None,
    workspace: str | None = None,
) -> AuthorizationSummary:
    """Authorize ``connection`` with ``credential``.

    ``environment`` is required for a per-environment connection and ignored otherwise (one
    authorization serves every environment). ``owner`` (an e-mail) is the user a user-level
    connection is authorized for; it defaults to the actor. ``expires_at`` is the OAuth 2 access
    token's expiry, when known.
    """
    ws = workspace_for(unit, actor, workspace)
    conn = unit.connections.get(ws.id, connection)
    entry = resolve_service(unit, ws.id, conn.service_link_name)
    check_credential(entry.definition, credential)

    if conn.per_environment:
        if environment is None:
            raise ValidationError(
                "environment", "is required: this connection has one authorization per environment"
            )
        env_key = environment_key(True, check_environment(ws.kind, environment))
    else:
        if environment is not None:
            check_environment(ws.kind, environment)
        env_key = environment_key(False, Environment.PRODUCTION)

    owner_user_id: str | None = None
    owner_role: Role | None = None
    if conn.level is ConnectionLevel.USER:
        if owner is None:
            if actor.is_operator:
                raise ValidationError("owner", "is required for a user-level connection")
            owner_user_id = actor.user_id
            owner_role = actor.role
        else:
            user = unit.users.get(check_email(owner, "owner"))
            membership = unit.memberships.find(ws.id, user.id)
            if membership is None:
                raise NotFound("member", f"{user.email} in workspace {ws.name}")
            owner_user_id, owner_role = user.id, membership.role
    elif owner is not None:
        raise ValidationError(
            "owner", f"only user-level connections have an owner; {connection!r} is {conn.level}"
        )

    if not may_authorize(actor, conn.level, owner_user_id):
        raise PermissionDenied(f"authorize connection {connection!r}", actor.role)

    is_primary = False
    if conn.level is ConnectionLevel.USER:
        is_primary = becomes_primary(unit, conn, env_key, owner_user_id, owner_role)

    if account_name is not None:
        name = account_name.strip()
        if not 1 <= len(name) <= _ACCOUNT_NAME_MAX:
            raise ValidationError("account_name", f"must be 1 to {_ACCOUNT_NAME_MAX} characters")
    else:
        n = unit.accounts.count_of_connection(conn.id) + 1
        name = f"{entry.definition.name} Account {n}"[:_ACCOUNT_NAME_MAX]

    now = unit.now()
    account = unit.accounts.create(
        workspace_id=ws.id,
        connection_id=conn.id,
        owner_user_id=owner_user_id,
        display_name=name,
        credential=credential_to_data(credential),
        token_expires_at=expires_at,
        created_by=actor.user_id,
        now=now,
    )
    summary = unit.accounts.put_authorization(
        workspace_id=ws.id,
        connection_id=conn.id,
        environment=env_key,
        owner_user_id=owner_user_id,
        account_id=account.id,
        authorized_by=actor.user_id,
        now=now,
        is_primary=is_primary,
    )
    unit.record(
        actor=actor,
        action="authorization.create",
        object_type="connection",
        object_id=conn.id,
        workspace_id=ws.id,
        detail={
            "connection": conn.link_name,
            "environment": env_key,
            "owner_user_id": owner_user_id,
            "account": name,
            "auth_type": auth_type_of(credential).value,
            "primary": is_primary,
        },
    )
    record_authorization_event(unit, EventType.AUTHORIZATION_CONNECTED, actor, summary)
    return summary
