"""The authorization lifecycle (SPEC §4–§5): link a credential (new or reused account), switch,
revoke, rename the account, list, and move the primary flag.

Who may do what:
- admin / system connections: switch and revoke — super admins and developers (and admins in a
  client workspace); user-level: only the authorization's owner, super admins included.
- anyone may revoke their own user-level authorization.
- only a super admin moves the primary account; revoking the primary is allowed but warned about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plugboard.domain.authorizations import may_authorize
from plugboard.domain.connections import AuthorizationSummary, Connection
from plugboard.domain.credentials import Credential
from plugboard.domain.events import EventType
from plugboard.domain.lifecycle import transition
from plugboard.domain.models import ALL_ENVIRONMENTS, AuthorizationStatus, ConnectionLevel, Role
from plugboard.domain.naming import check_email
from plugboard.domain.permissions import (
    Action,
    allowed,
    manage_authorization_action,
    require,
    require_person,
)
from plugboard.domain.principal import Principal
from plugboard.errors import Conflict, NotFound, PermissionDenied, ValidationError
from plugboard.store.authorizations import AuthorizationKey, AuthorizationRow, Owners
from plugboard.store.unit import Unit
from plugboard.usecases.connections import get_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.events import record_authorization_event
from plugboard.usecases.invoke_invalidation import invalidate_resolutions

ACCOUNT_NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class Revocation:
    authorization: AuthorizationSummary
    primary_warning: str | None
    # The deleted credential, to revoke at the provider (None: nothing to call). Never shown.
    provider_call: dict[str, Any] | None = field(repr=False)


def _slot(connection: Connection, environment: str | None) -> str:
    if not connection.per_environment:
        return ALL_ENVIRONMENTS
    if environment is None:
        raise ValidationError("environment", "is required: this connection has one per environment")
    return environment


def owner_id_for(unit: Unit, actor: Principal, conn: Connection, owner: str | None) -> str | None:
    """The user an authorization of `conn` belongs to: None for admin/system connections."""
    if conn.level is not ConnectionLevel.USER:
        if owner is not None:
            raise ValidationError("owner", "only user-level connections have an owner")
        return None
    if owner is None:
        require_person(actor, "manage an authorization of a user-level connection")
        if actor.user_id is None:
            raise ValidationError("owner", "is required for a user-level connection")
        return actor.user_id
    return unit.users.get(check_email(owner, "owner")).id


def _may_manage(actor: Principal, conn: Connection, row: AuthorizationRow) -> None:
    """Switch / revoke / rename permission for one authorization."""
    if actor.is_operator:
        return
    owner = row.summary.owner_user_id
    require(actor, manage_authorization_action(conn.level))
    if conn.level is ConnectionLevel.USER and owner != actor.user_id:
        raise PermissionDenied(
            "change another user's authorization",
            actor.role,
            "on user-level connections only the owner may switch, revoke or rename an "
            "authorization (super admins included)",
        )


def check_may_replace(
    unit: Unit, actor: Principal, conn: Connection, slots: Sequence[str], owner_id: str | None
) -> None:
    """A consent into a slot that already holds a live account is a switch (SPEC §5), which
    needs the switch permission, not just the authorize one."""
    for slot in slots:
        try:
            row = unit.authorizations.get(conn.id, slot, owner_id)
        except NotFound:
            continue
        if row.summary.account_id is not None:
            _may_manage(actor, conn, row)


def _find(
    unit: Unit,
    actor: Principal,
    connection: str,
    environment: str | None,
    owner: str | None,
    workspace: str | None,
) -> tuple[Connection, AuthorizationRow]:
    conn = get_connection(unit, actor, connection, workspace=workspace)
    owner_id = owner_id_for(unit, actor, conn, owner)
    return conn, unit.authorizations.get(conn.id, _slot(conn, environment), owner_id)


def link_credential(
    unit: Unit,
    actor: Principal,
    *,
    connection: str,
    credential: Credential,
    environments: Sequence[str],
    owner: str | None = None,
    account_name: str | None = None,
    expires_at: datetime | None = None,
    replace_authorization_id: str | None = None,
    workspace: str | None = None,
) -> list[AuthorizationSummary]:
    """Store one new account and point every named slot at it (a consent for several
    environments links one account, not copies). Replaced accounts nobody uses are deleted."""
    slots = list(environments) or [ALL_ENVIRONMENTS]
    conn = get_connection(unit, actor, connection, workspace=workspace)
    owner_id = owner_id_for(unit, actor, conn, owner)
    previous = {slot: _existing_account(unit, conn.id, slot, owner_id) for slot in slots}
    first = store_credential(
        unit, actor, connection=connection, credential=credential,
        environment=None if slots[0] == ALL_ENVIRONMENTS else slots[0], owner=owner,
        account_name=account_name, expires_at=expires_at, workspace=workspace,
    )  # fmt: skip
    results = [first]
    assert first.account_id is not None
    for slot in slots[1:]:
        results.append(_point_at(unit, actor, conn, slot, owner_id, first.account_id))
    for old in previous.values():
        if old is not None and old != first.account_id:
            unit.authorizations.delete_account_if_unused(old)
    invalidate_resolutions(unit)  # invokes of this process use the new credential at once
    return results


def _existing_account(
    unit: Unit, connection_id: str, slot: str, owner_id: str | None
) -> str | None:
    try:
        return unit.authorizations.get(connection_id, slot, owner_id).summary.account_id
    except NotFound:
        return None


def _point_at(
    unit: Unit, actor: Principal, conn: Connection, slot: str, owner_id: str | None, account_id: str
) -> AuthorizationSummary:
    summary = unit.accounts.put_authorization(
        workspace_id=conn.workspace_id, connection_id=conn.id, environment=slot,
        owner_user_id=owner_id, account_id=account_id, authorized_by=actor.user_id,
        now=unit.now(),
    )  # fmt: skip
    unit.record(
        actor=actor, action="authorization.link", object_type="connection",
        object_id=conn.id, workspace_id=conn.workspace_id,
        detail={"connection": conn.link_name, "environment": slot, "account_id": account_id},
    )  # fmt: skip
    record_authorization_event(unit, EventType.AUTHORIZATION_CONNECTED, actor, summary)
    return summary


def reuse_account(
    unit: Unit,
    actor: Principal,
    *,
    connection: str,
    environment: str,
    account: str,
    owner: str | None = None,
    workspace: str | None = None,
) -> AuthorizationSummary:
    """Authorize an environment with an account already linked for another one (SPEC §5), or
    switch an authorization to it. `account` is its id or display name."""
    conn = get_connection(unit, actor, connection, workspace=workspace)
    if not conn.per_environment and environment != ALL_ENVIRONMENTS:
        environment = ALL_ENVIRONMENTS
    owner_id = owner_id_for(unit, actor, conn, owner)
    if not may_authorize(actor, conn.level, owner_id):
        raise PermissionDenied(f"authorize connection {connection!r}", actor.role)
    candidates = unit.authorizations.accounts_of(conn.id, owner_id)
    matches = [acc_id for acc_id, name in candidates if account in (acc_id, name)]
    if not matches:
        raise NotFound("account", account)
    if len(matches) > 1:
        raise ValidationError("account", "several accounts have that name: give its id")
    old = _existing_account(unit, conn.id, environment, owner_id)
    summary = _point_at(unit, actor, conn, environment, owner_id, matches[0])
    if old is not None and old != matches[0]:
        unit.authorizations.delete_account_if_unused(old)
    invalidate_resolutions(unit)
    return summary


def revoke(
    unit: Unit,
    actor: Principal,
    *,
    connection: str,
    environment: str | None = None,
    owner: str | None = None,
    workspace: str | None = None,
) -> Revocation:
    """Delete the credential of one authorization. Other environments or connections that use
    the same account keep it; the provider's token is revoked only when nobody else uses it."""
    conn, row = _find(unit, actor, connection, environment, owner, workspace)
    _may_manage(actor, conn, row)
    summary = row.summary
    transition(summary.status, AuthorizationStatus.REVOKED)
    now = unit.now()
    credential: dict[str, Any] | None = None
    if summary.account_id is not None:
        account = unit.accounts.get(summary.account_id)
        credential = dict(account.credential)
    unit.authorizations.set_status(
        summary.id, AuthorizationStatus.REVOKED, f"revoked by {actor.label}", now,
        unlink_account=True,
    )  # fmt: skip
    provider_call = None
    if summary.account_id is not None and unit.authorizations.delete_account_if_unused(
        summary.account_id
    ):
        provider_call = credential
    warning = None
    if summary.is_primary:
        warning = (
            "this was the primary account: schedules and datasources that run without a user "
            "have no account until a super admin marks another authorization primary"
        )
    unit.record(
        actor=actor, action="authorization.revoke", object_type="connection",
        object_id=conn.id, workspace_id=conn.workspace_id,
        detail={"connection": conn.link_name, "environment": summary.environment,
                "owner_user_id": summary.owner_user_id, "was_primary": summary.is_primary,
                "status_from": summary.status.value},
    )  # fmt: skip
    after = unit.authorizations.get(conn.id, summary.environment, summary.owner_user_id)
    record_authorization_event(unit, EventType.AUTHORIZATION_REVOKED, actor, summary)
    # Invokes of this process stop at once (the callers that own the transaction call it
    # again after the commit; see invoke_invalidation).
    invalidate_resolutions(unit)
    return Revocation(after.summary, warning, provider_call)


def rename_account(
    unit: Unit,
    actor: Principal,
    *,
    connection: str,
    name: str,
    environment: str | None = None,
    owner: str | None = None,
    workspace: str | None = None,
) -> AuthorizationSummary:
    conn, row = _find(unit, actor, connection, environment, owner, workspace)
    _may_manage(actor, conn, row)
    new_name = name.strip()
    if not 1 <= len(new_name) <= ACCOUNT_NAME_MAX:
        raise ValidationError("name", f"must be 1 to {ACCOUNT_NAME_MAX} characters")
    if row.summary.account_id is None:
        raise Conflict("this authorization has no account to rename: authorize it first")
    unit.authorizations.rename_account(row.summary.account_id, new_name, unit.now())
    unit.record(
        actor=actor, action="authorization.rename", object_type="connection",
        object_id=conn.id, workspace_id=conn.workspace_id,
        detail={"connection": conn.link_name, "from": row.summary.account_name, "to": new_name},
    )  # fmt: skip
    return unit.authorizations.get(
        conn.id, row.summary.environment, row.summary.owner_user_id
    ).summary


def list_authorizations(
    unit: Unit,
    actor: Principal,
    *,
    connection: str,
    search: str | None = None,
    user_type: str | None = None,
    environment: str | None = None,
    workspace: str | None = None,
    after: AuthorizationKey | None = None,
    limit: int | None = None,
) -> list[AuthorizationRow]:
    """A connection's authorizations (a `user` sees only their own) in (environment, owner
    e-mail, id) order, searchable by owner name or e-mail, filterable by the owner's role and
    the environment, filtered and paged by the store: keys after ``after``, at most ``limit``."""
    conn = get_connection(unit, actor, connection, workspace=workspace)
    role: Role | None = None
    if user_type is not None:
        try:
            role = Role(user_type)
        except ValueError:
            raise ValidationError(
                "user_type", "must be super_admin, admin, developer or user"
            ) from None
    owner = actor.user_id if not allowed(actor, Action.VIEW_ALL_CONNECTIONS) else Owners.ANY
    return unit.authorizations.page(
        conn.id, owner=owner, role=role, environment=environment,
        search=(search or "").strip() or None, after=after, limit=limit,
    )  # fmt: skip


def mark_primary(
    unit: Unit,
    actor: Principal,
    *,
    connection: str,
    owner: str,
    environment: str | None = None,
    workspace: str | None = None,
) -> AuthorizationSummary:
    """Only a super admin moves the primary account, to a connected user-level authorization."""
    conn = get_connection(unit, actor, connection, workspace=workspace)
    require(actor, Action.MOVE_PRIMARY)
    if conn.level is not ConnectionLevel.USER:
        raise ValidationError("connection", "only user-level connections have a primary account")
    owner_id = unit.users.get(check_email(owner, "owner")).id
    row = unit.authorizations.get(conn.id, _slot(conn, environment), owner_id)
    if row.summary.status is not AuthorizationStatus.CONNECTED:
        raise Conflict(
            f"only a connected authorization can be primary; this one is {row.summary.status.value}"
        )
    unit.authorizations.move_primary(conn.id, row.summary.environment, row.summary.id, unit.now())
    invalidate_resolutions(unit)  # a no-user invoke now runs with the new primary account
    unit.record(
        actor=actor, action="authorization.primary", object_type="connection",
        object_id=conn.id, workspace_id=conn.workspace_id,
        detail={"connection": conn.link_name, "environment": row.summary.environment,
                "owner": row.owner_email},
    )  # fmt: skip
    return unit.authorizations.get(conn.id, row.summary.environment, owner_id).summary
