"""/me, /workspaces, /users, /invitations, /tokens"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.server.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from plugboard.server.schemas import (
    InvitationPublic,
    MemberAdded,
    MemberCreate,
    MemberPublic,
    MePublic,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    WorkspaceCreate,
    WorkspacePublic,
)
from plugboard.usecases import identity, invitations

router = APIRouter(tags=["identity"])
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.get("/me")
def me(runtime: RuntimeDep, principal: CurrentPrincipal) -> MePublic:
    """The calling principal: user, workspace and role."""
    with runtime.unit(write=False) as unit:
        workspace = identity.workspace_for(unit, principal, None)
    return MePublic(
        user_id=principal.user_id,
        email=principal.email,
        workspace=workspace.name,
        role=principal.role,
        acts_for_users=principal.acts_for_users,
    )


@router.get("/workspaces")
def list_workspaces(runtime: RuntimeDep, principal: CurrentPrincipal) -> Page[WorkspacePublic]:
    """The caller's workspace (a token is bound to one)."""
    with runtime.unit(write=False) as unit:
        workspace = identity.workspace_for(unit, principal, None)
    return Page(items=[WorkspacePublic.of(workspace)])


@router.post("/workspaces", status_code=status.HTTP_201_CREATED)
def create_workspace(
    body: WorkspaceCreate, runtime: RuntimeDep, principal: CurrentPrincipal
) -> WorkspacePublic:
    """Create a workspace; the caller becomes its super admin."""
    with runtime.unit() as unit:
        return WorkspacePublic.of(identity.create_workspace(unit, principal, body.name, body.kind))


@router.get("/users")
def list_users(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    role: str | None = None,
    search: Annotated[str | None, Query(description="Text in the e-mail or name.")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[MemberPublic]:
    with runtime.unit(write=False) as unit:
        members = identity.list_members(unit, principal)
    needle = (search or "").casefold()
    found = [
        MemberPublic.of(m)
        for m in members
        if (role is None or m.role.value == role)
        and (not needle or needle in m.user.email or needle in m.user.name.casefold())
    ]
    items, next_cursor = paginate(found, lambda m: (m.email,), cursor, limit)
    return Page(items=items, next_cursor=next_cursor)


@router.post("/users", status_code=status.HTTP_201_CREATED)
def add_user(body: MemberCreate, runtime: RuntimeDep, principal: CurrentPrincipal) -> MemberAdded:
    """Add a member. An address that already has an account is invited (`status: invited`):
    it joins when its owner accepts. The answer repeats the request, nothing of the account."""
    with runtime.unit() as unit:
        added = identity.add_user(
            unit, principal, email=body.email, role=body.role, name=body.name,
            password=body.password,
        )  # fmt: skip
    return MemberAdded.of(added)


@router.get("/invitations")
def list_invitations(runtime: RuntimeDep, principal: CurrentPrincipal) -> Page[InvitationPublic]:
    """Your pending invitations to other workspaces."""
    with runtime.unit(write=False) as unit:
        pending = invitations.list_invitations(unit, principal)
    return Page(items=[InvitationPublic.of(i) for i in pending])


@router.post("/invitations/{invitation_id}/accept")
def accept_invitation(
    invitation_id: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> MemberPublic:
    """Accept one of your invitations: you become a member of that workspace."""
    with runtime.unit() as unit:
        membership = invitations.accept_invitation(unit, principal, invitation_id)
    return MemberPublic.of(membership)


@router.get("/tokens")
def list_tokens(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    email: str | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[TokenPublic]:
    """Your tokens; an admin may list everyone's or one member's (`email`)."""
    with runtime.unit(write=False) as unit:
        tokens = identity.list_tokens(unit, principal, email=email)
    items, next_cursor = paginate(
        [TokenPublic.of(t) for t in tokens],
        lambda t: (t.created_at.isoformat(), t.id),
        cursor,
        limit,
    )
    return Page(items=items, next_cursor=next_cursor)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(
    body: TokenCreate, runtime: RuntimeDep, principal: CurrentPrincipal
) -> TokenCreated:
    """Create a token. The response carries it once; only its hash is stored."""
    with runtime.unit() as unit:
        issued = identity.create_token(
            unit, principal, email=body.email, name=body.name, acts_for_users=body.acts_for_users
        )
    return TokenCreated(**TokenPublic.of(issued.token).model_dump(), secret=issued.secret)


@router.delete("/tokens/{token_id}")
def revoke_token(
    token_id: str, request: Request, runtime: RuntimeDep, principal: CurrentPrincipal
) -> TokenPublic:
    with runtime.unit() as unit:
        revoked = TokenPublic.of(identity.revoke_token(unit, principal, token_id))
    request.app.state.principal_cache.forget_token(token_id)
    return revoked
