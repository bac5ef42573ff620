"""Step 1 of an invoke (SPEC §7): the connection in the caller's workspace and the authorization
that serves the environment, or AuthorizationRequired saying who must act.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from plugboard.catalog import loader as catalog
from plugboard.domain.authorizations import (
    check_environment,
    default_environment,
    environment_key,
    unusable_reason,
    usable,
    who_must_act,
)
from plugboard.domain.connections import AuthorizationSummary, Connection
from plugboard.domain.credentials import (
    Credential,
    auth_type_of,
    check_sendable,
    credential_from_data,
)
from plugboard.domain.models import (
    ALL_ENVIRONMENTS,
    ConnectionLevel,
    Environment,
    Role,
    Workspace,
    WorkspaceKind,
)
from plugboard.domain.naming import check_email
from plugboard.domain.permissions import Action, allowed, invoke_action, require
from plugboard.domain.principal import Principal
from plugboard.domain.service import ServiceDefinition
from plugboard.errors import (
    AuthorizationRequired,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from plugboard.store.resolution import ResolutionRead
from plugboard.store.unit import Unit
from plugboard.usecases.connections import may_see, visible_levels
from plugboard.usecases.identity import DEFAULT_WORKSPACE, member_to_act_as
from plugboard.usecases.invoke_apps import (
    app_calling_user,
    require_app_connection,
    stage_definition,
)

__all__ = ["Resolved", "resolve"]


@dataclass(frozen=True, slots=True)
class Resolved:
    """Everything an invoke needs, read in one transaction."""

    workspace: Workspace
    connection: Connection
    service: ServiceDefinition
    environment: Environment
    authorization: AuthorizationSummary
    account_id: str
    credential: Credential = field(repr=False)
    token_expires_at: datetime | None
    who_must_act: str
    oauth_client_id: str | None
    oauth_client_secret: str | None = field(repr=False)

    def required(self, reason: str) -> AuthorizationRequired:
        return AuthorizationRequired(
            self.connection.link_name, self.environment.value, self.who_must_act, reason
        )


def _calling_user(
    unit: Unit, actor: Principal, workspace: Workspace, as_user: str | None
) -> tuple[str | None, Role | None]:
    """(user id, role) of the person the invoke runs for; user id None means "no user"."""
    if as_user is not None:
        email = check_email(as_user, "as_user")
        if not (actor.is_operator or actor.acts_for_users or email == actor.email):
            raise PermissionDenied("invoke on behalf of another user", actor.role)
        membership = member_to_act_as(unit, actor, workspace, email)
        return membership.user.id, membership.role
    if actor.is_operator or actor.acts_for_users:
        return None, actor.role
    return actor.user_id, actor.role


def _oauth_client(
    unit: Unit, workspace_id: str, service: ServiceDefinition
) -> tuple[str | None, str | None]:
    """(client id, client secret) of the service in the workspace: its own, else the
    workspace's registration (token upkeep reads it this way too)."""

    def registered() -> tuple[str, str | None] | None:
        found = unit.service_clients.find(workspace_id, service.link_name)
        return None if found is None else (found.client_id, found.client_secret)

    return _client_of(service, registered)


def _client_of(
    service: ServiceDefinition, registered: Callable[[], tuple[str, str | None] | None]
) -> tuple[str | None, str | None]:
    if service.oauth2 is not None:
        client_id, secret = service.oauth2.client_id, service.oauth2.client_secret
    elif service.oauth1 is not None:
        client_id, secret = service.oauth1.consumer_key, service.oauth1.consumer_secret
    else:
        return None, None
    if client_id and secret is not None:
        return client_id, secret.get_secret_value()
    # Built-in services carry no client, and an installed custom service no secret (packages
    # never do): the workspace registers its own (`plugboard services set-client`).
    found = registered()
    if found is None:
        return client_id, None
    return found


# Where an authorization may be stored for an invoke that names no environment: the default
# environment of either kind of workspace (the workspace is read by the same query).
_DEFAULT_ENVIRONMENTS = tuple(dict.fromkeys(default_environment(k).value for k in WorkspaceKind))
_ENVIRONMENT_NAMES = frozenset(e.value for e in Environment)


def _read(
    unit: Unit, actor: Principal, link_name: str, environment: str | None, workspace: str | None
) -> tuple[Workspace, Connection, ResolutionRead]:
    """The store read of a resolution (one query), refused as
    :func:`~plugboard.usecases.identity.workspace_for` and ``connections.get`` refuse: a
    user acts only in their own workspace (another name is not found), an operator in any."""
    # Only a real environment's name goes to the database (PostgreSQL refuses a NUL in a text
    # parameter: a 500); another name is refused by check_environment, at its usual point.
    environments = (environment,) if environment in _ENVIRONMENT_NAMES else _DEFAULT_ENVIRONMENTS
    keys = (*environments, ALL_ENVIRONMENTS)
    if actor.is_operator:
        name = workspace or DEFAULT_WORKSPACE
        read = unit.resolution.read(
            workspace_name=name,
            link_name=link_name,
            environments=keys,
            owner_user_id=actor.user_id,
        )
        if read.workspace is None:
            raise NotFound("workspace", name)
    else:
        assert actor.workspace_id is not None
        read = unit.resolution.read(
            workspace_id=actor.workspace_id,
            link_name=link_name,
            environments=keys,
            owner_user_id=actor.user_id,
        )
        if read.workspace is None:
            raise NotFound("workspace", actor.workspace_id)
        if workspace is not None and workspace != read.workspace.name:
            raise NotFound("workspace", workspace)
    if read.connection is None:
        raise NotFound("connection", link_name)
    return read.workspace, read.connection, read


def resolve(
    unit: Unit,
    actor: Principal,
    link_name: str,
    *,
    environment: str | None = None,
    as_user: str | None = None,
    workspace: str | None = None,
) -> Resolved:
    """SPEC §7 step 1. Raises NotFound, PermissionDenied or AuthorizationRequired.

    The workspace, connection, candidate authorizations with their accounts, custom service
    and client registration come from one query (:mod:`plugboard.store.resolution`); an app
    token's access to a system connection, a ``user`` role's access to an app's connection, a
    stage snapshot and ``as_user`` add the reads they need."""
    ws, connection, read = _read(unit, actor, link_name, environment, workspace)
    if actor.is_app:
        require_app_connection(unit, actor, connection)
    elif connection.level is not ConnectionLevel.USER and not allowed(actor, Action.INVOKE_SHARED):
        raise NotFound("connection", link_name)  # hidden from the role, as on GET
    elif not _may_see(unit, actor, connection):
        raise NotFound("connection", link_name)  # of an app the user is not granted
    env = (
        check_environment(ws.kind, environment)
        if environment is not None
        else default_environment(ws.kind)
    )
    connection = stage_definition(unit, connection, env)
    if actor.is_app:
        user_id, role = app_calling_user(unit, actor, ws, as_user)
    else:
        user_id, role = _calling_user(unit, actor, ws, as_user)
    if connection.level is ConnectionLevel.USER:
        for_self = user_id is not None and user_id == actor.user_id
        require(actor, invoke_action(connection.level, for_self=for_self))
    who = who_must_act(
        connection.level,
        role=role,
        is_operator=actor.is_operator and as_user is None,
        for_user=user_id is not None,
    )
    env_key = environment_key(connection.per_environment, env)
    if connection.level is not ConnectionLevel.USER:
        found = read.authorized_account(env_key, None)
    elif user_id is None:
        found = read.authorized_account(env_key, None, primary=True)
    elif user_id == read.owner_user_id:
        found = read.authorized_account(env_key, user_id)
    else:  # for another user (as_user): their authorizations were not part of the read
        found = unit.accounts.authorized_account(connection.id, env_key, user_id)
    if found is None or found.account is None or not usable(found.authorization.status):
        status = found.authorization.status if found else None
        detail = found.authorization.status_detail if found else None
        raise AuthorizationRequired(
            connection.link_name, env.value, who, unusable_reason(status, detail)
        )
    service = _service(read, connection)
    if service is None:
        raise AuthorizationRequired(
            connection.link_name, env.value, who, "its service no longer exists"
        )
    credential = credential_from_data(found.account.credential)
    if auth_type_of(credential) is not service.auth_type:
        raise AuthorizationRequired(
            connection.link_name,
            env.value,
            who,
            "the stored credential is not for the service's auth type",
        )
    try:
        check_sendable(service, credential)
    except ValidationError as exc:  # stored before values were checked on entry
        raise AuthorizationRequired(
            connection.link_name,
            env.value,
            who,
            f"the stored credential cannot be sent ({exc.field}: {exc.rule}): authorize again",
        ) from None
    client_id, client_secret = _client_of(service, read.service_client)
    return Resolved(
        workspace=ws,
        connection=connection,
        service=service,
        environment=env,
        authorization=found.authorization,
        account_id=found.account.id,
        credential=credential,
        token_expires_at=found.account.token_expires_at,
        who_must_act=who,
        oauth_client_id=client_id,
        oauth_client_secret=client_secret,
    )


def _may_see(unit: Unit, actor: Principal, connection: Connection) -> bool:
    """:func:`~plugboard.usecases.connections.may_see` without its read of the apps granted to
    a ``user`` when the connection is enabled for no app (they cannot change the answer)."""
    if connection.app_id is None and not actor.is_app:
        levels = visible_levels(actor)
        return levels is None or connection.level in levels
    return may_see(unit, actor, connection)


def _service(read: ResolutionRead, connection: Connection) -> ServiceDefinition | None:
    """The connection's service as :func:`~plugboard.usecases.services.resolve_service` finds
    it: the workspace's custom service of that link name, else the built-in one."""
    custom = read.custom_service()
    if custom is not None:
        return custom.definition
    return catalog.builtin_services().get(connection.service_link_name)
