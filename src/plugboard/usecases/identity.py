"""Workspaces, users, roles and API tokens (SPEC §1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from plugboard.crypto.passwords import hash_password
from plugboard.domain.models import ApiToken, Membership, Role, Workspace, WorkspaceKind
from plugboard.domain.naming import check_display_name, check_email, check_workspace_name
from plugboard.domain.permissions import Action, allowed, require, require_person, require_rank
from plugboard.domain.principal import Principal, user_principal
from plugboard.domain.tokens import display_prefix, hash_token, new_token
from plugboard.errors import (
    AlreadyExists,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from plugboard.store.unit import Unit

DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly made token. `secret` exists only here: it is shown once and stored hashed."""

    token: ApiToken
    secret: str

    def __repr__(self) -> str:
        return f"IssuedToken(token={self.token!r}, secret='[shown once]')"


def workspace_for(unit: Unit, actor: Principal, name: str | None) -> Workspace:
    """The workspace an action applies to. A user acts only in their own: another name is
    reported as not found, so nothing reveals that it exists."""
    if actor.is_operator:
        return unit.workspaces.get(name or DEFAULT_WORKSPACE)
    assert actor.workspace_id is not None
    workspace = unit.workspaces.by_id(actor.workspace_id)
    if name is not None and name != workspace.name:
        raise NotFound("workspace", name)
    return workspace


def find_member(unit: Unit, workspace: Workspace, email: str) -> Membership:
    """The member of `workspace` with this (checked) e-mail. An address without an account and
    an account that is not a member raise the very same NotFound: nothing tells them apart."""
    user = unit.users.find(email)
    membership = unit.memberships.find(workspace.id, user.id) if user is not None else None
    if membership is None:
        raise NotFound("member", f"{email} in workspace {workspace.name}")
    return membership


def member_to_act_as(unit: Unit, actor: Principal, workspace: Workspace, email: str) -> Membership:
    """The member an invoke runs as (`as_user`, `X-Plugboard-User`): never one who outranks
    the actor."""
    membership = find_member(unit, workspace, email)
    if membership.user.id != actor.user_id:
        require_rank(actor, membership.role, "act as")
    return membership


def principal_for(unit: Unit, email: str, workspace_name: str | None, *, via: str) -> Principal:
    """Act as a member (the CLI's `--as`)."""
    address = check_email(email, "as")
    workspace = unit.workspaces.get(workspace_name or DEFAULT_WORKSPACE)
    membership = find_member(unit, workspace, address)
    user = membership.user
    return user_principal(
        user.id, user.email, workspace.id, workspace.kind, membership.role, via=via
    )


def create_workspace(unit: Unit, actor: Principal, name: str, kind: WorkspaceKind) -> Workspace:
    require(actor, Action.CREATE_WORKSPACE)
    workspace = unit.workspaces.add(check_workspace_name(name, "name"), kind, unit.now())
    if not actor.is_operator:
        # Whoever creates a workspace administers it.
        assert actor.user_id is not None
        user = unit.users.by_id(actor.user_id)
        unit.memberships.add(workspace, user, Role.SUPER_ADMIN, unit.now())
    unit.record(
        actor=actor,
        action="workspace.create",
        object_type="workspace",
        object_id=workspace.id,
        workspace_id=workspace.id,
        detail={"name": workspace.name, "kind": kind.value},
    )
    return workspace


@dataclass(frozen=True, slots=True)
class AddedMember:
    """What adding a member answers. Built from the request alone: it says nothing of an
    account that already existed (neither its id nor its name).

    `status` is "member" (a new account, a member now) or "invited" (the address already has
    an account: it becomes a member when its owner accepts the invitation)."""

    email: str
    name: str
    role: Role
    workspace: str
    status: str


def add_user(
    unit: Unit,
    actor: Principal,
    *,
    email: str,
    role: Role,
    workspace: str | None = None,
    name: str | None = None,
    password: str | None = None,
) -> AddedMember:
    """Add a member with one role. An address that already has an account is invited instead:
    nobody joins a workspace without knowing it. The local operator, who holds every
    workspace's keys anyway, adds an existing account directly. `password` only ever applies
    to a new account."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_USERS)
    if role is Role.SUPER_ADMIN:
        require(actor, Action.GRANT_SUPER_ADMIN)
    address = check_email(email)
    if password is not None and len(password) < 12:
        raise ValidationError("password", "must be at least 12 characters")
    display = check_display_name(name or address.split("@")[0], "name")
    user = unit.users.find(address)
    if user is not None and not actor.is_operator:
        if unit.memberships.find(ws.id, user.id) is not None:
            raise AlreadyExists(
                "member", "email", address,
                f"email: {address} is already a member of workspace {ws.name}",
            )  # fmt: skip
        invitation_id = unit.invitations.invite(ws.id, user.id, role, actor.label, unit.now())
        unit.record(
            actor=actor,
            action="user.invite",
            object_type="invitation",
            object_id=invitation_id,
            workspace_id=ws.id,
            detail={"email": address, "role": role.value},
        )
        return AddedMember(address, display, role, ws.name, "invited")
    if user is None:
        user = unit.users.add(
            address, display, hash_password(password) if password else None, unit.now()
        )
    unit.memberships.add(ws, user, role, unit.now())
    unit.record(
        actor=actor,
        action="user.add",
        object_type="user",
        object_id=user.id,
        workspace_id=ws.id,
        detail={"email": user.email, "role": role.value},
    )
    return AddedMember(address, display, role, ws.name, "member")


def list_workspaces(unit: Unit, actor: Principal) -> list[Workspace]:
    """Every workspace, by name: only for whoever may create workspaces (the local operator)."""
    require(actor, Action.CREATE_WORKSPACE)
    return unit.workspaces.all()


def list_members(
    unit: Unit,
    actor: Principal,
    workspace: str | None = None,
    *,
    role: str | None = None,
    search: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[Membership]:
    """Members by e-mail, filtered (``role``; ``search`` in the e-mail or name) and paged
    (e-mails after ``after``) by the store."""
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.VIEW_USERS)
    return unit.memberships.of_workspace(ws.id, role=role, search=search, after=after, limit=limit)


def create_token(
    unit: Unit,
    actor: Principal,
    *,
    email: str | None = None,
    workspace: str | None = None,
    name: str = "cli",
    acts_for_users: bool = False,
) -> IssuedToken:
    ws = workspace_for(unit, actor, workspace)
    require_person(actor, "create an API token")
    if email is None:
        if actor.is_operator:
            raise ValidationError("email", "required: whose token is it?")
        assert actor.email is not None
        email = actor.email
    address = check_email(email)
    own = address == actor.email
    require(actor, Action.MANAGE_OWN_TOKENS if own else Action.MANAGE_OTHERS_TOKENS)
    target = find_member(unit, ws, address)
    user = target.user
    if not own:
        require_rank(actor, target.role, "create a token for")
    if acts_for_users and not allowed(actor, Action.MANAGE_OTHERS_TOKENS):
        raise PermissionDenied("create a token that acts for other users", actor.role)
    token_name = name.strip()
    if not 1 <= len(token_name) <= 100:
        raise ValidationError("name", "must be 1 to 100 characters")
    secret = new_token()
    token = unit.tokens.add(
        ws.id,
        user.id,
        token_name,
        hash_token(secret),
        display_prefix(secret),
        acts_for_users,
        unit.now(),
    )
    unit.record(
        actor=actor,
        action="token.create",
        object_type="token",
        object_id=token.id,
        workspace_id=ws.id,
        detail={"user": user.email, "name": token_name, "acts_for_users": acts_for_users},
    )
    return IssuedToken(token=token, secret=secret)


def list_tokens(
    unit: Unit,
    actor: Principal,
    *,
    workspace: str | None = None,
    email: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[ApiToken]:
    """Oldest first; ``after`` is the (created_at, id) of the last token already seen."""
    ws = workspace_for(unit, actor, workspace)
    if email is None and not allowed(actor, Action.MANAGE_OTHERS_TOKENS):
        email = actor.email
    address = check_email(email) if email else None
    if address is None or address != actor.email:
        require(actor, Action.MANAGE_OTHERS_TOKENS)
    user_id = find_member(unit, ws, address).user.id if address else None
    return unit.tokens.of_workspace(ws.id, user_id, after=after, limit=limit)


def revoke_token(unit: Unit, actor: Principal, token_id: str) -> ApiToken:
    try:
        token = unit.tokens.by_id(token_id)
    except NotFound:
        raise NotFound("token", token_id) from None
    if not actor.is_operator and token.workspace_id != actor.workspace_id:
        raise NotFound("token", token_id)
    own = token.user_id == actor.user_id
    require(actor, Action.MANAGE_OWN_TOKENS if own else Action.MANAGE_OTHERS_TOKENS)
    owner = unit.memberships.find(token.workspace_id, token.user_id)
    if not own and owner is not None:
        # Without a membership the token no longer authenticates anyone.
        require_rank(actor, owner.role, "revoke a token of")
    unit.tokens.revoke(token.id, unit.now())
    unit.record(
        actor=actor,
        action="token.revoke",
        object_type="token",
        object_id=token.id,
        workspace_id=token.workspace_id,
    )
    return unit.tokens.by_id(token.id)


def authenticate_token(unit: Unit, secret: str, *, via: str = "api") -> Principal:
    """The principal behind a bearer token; one message for every failure so nothing leaks.

    Reads only: `unit` may be a read transaction. Stamping the token's last use is
    `note_token_use`, done by the caller at most once a minute (a write per request would
    serialize every API call on SQLite's write lock)."""
    token = unit.tokens.by_hash(hash_token(secret)) if secret.startswith("pbt_") else None
    if token is None or not token.active:
        raise AuthenticationFailed("invalid or revoked API token")
    user = unit.users.by_id(token.user_id)
    membership = unit.memberships.find(token.workspace_id, token.user_id)
    if membership is None:
        raise AuthenticationFailed("invalid or revoked API token")
    return user_principal(
        user.id,
        user.email,
        membership.workspace.id,
        membership.workspace.kind,
        membership.role,
        via=via,
        acts_for_users=token.acts_for_users,
        token_id=token.id,
        token_last_used_at=token.last_used_at,
    )


TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def token_use_is_stale(principal: Principal, now: datetime) -> bool:
    last = principal.token_last_used_at
    return principal.token_id is not None and (last is None or now - last >= TOKEN_USE_RESOLUTION)


def note_token_use(unit: Unit, principal: Principal) -> None:
    if principal.token_id is not None:
        unit.tokens.touch(principal.token_id, unit.now())
