"""/me, /workspaces, /users, /invitations, /tokens"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from plugboard.records import (
    InvitationPublic,
    MemberAdded,
    MemberPublic,
    MePublic,
    TokenCreated,
    TokenPublic,
    WorkspacePublic,
)
from plugboard.server.deps import CurrentPrincipal, RuntimeDep
from plugboard.server.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    cursor_after,
    cursor_time_id,
    encode_cursor,
    time_id_cursor,
)
from plugboard.server.schemas import MemberCreate, TokenCreate, WorkspaceCreate
from plugboard.usecases.identity_service import Invitations, Members, Tokens, Workspaces

router = APIRouter(tags=["identity"])
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.get("/me")
def me(runtime: RuntimeDep, principal: CurrentPrincipal) -> MePublic:
    """The calling principal: user, workspace and role."""
    return Workspaces(runtime, principal).me()


@router.get("/workspaces")
def list_workspaces(runtime: RuntimeDep, principal: CurrentPrincipal) -> Page[WorkspacePublic]:
    """The caller's workspace (a token is bound to one)."""
    return Page(items=[Workspaces(runtime, principal).current()])


@router.post("/workspaces", status_code=status.HTTP_201_CREATED)
def create_workspace(
    body: WorkspaceCreate, runtime: RuntimeDep, principal: CurrentPrincipal
) -> WorkspacePublic:
    """Create a workspace; the caller becomes its super admin."""
    return Workspaces(runtime, principal).create(body.name, body.kind)


@router.get("/users")
def list_users(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    role: str | None = None,
    search: Annotated[str | None, Query(description="Text in the e-mail or name.")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[MemberPublic]:
    found = Members(runtime, principal).page(
        role=role, search=search, after=cursor_after(cursor, "email"), limit=limit
    )
    next_cursor = encode_cursor([found.next_key]) if found.next_key is not None else None
    return Page(items=found.items, next_cursor=next_cursor)


@router.post("/users", status_code=status.HTTP_201_CREATED)
def add_user(body: MemberCreate, runtime: RuntimeDep, principal: CurrentPrincipal) -> MemberAdded:
    """Add a member. An address that already has an account is invited (`status: invited`):
    it joins when its owner accepts. The answer repeats the request, nothing of the account."""
    return Members(runtime, principal).add(
        body.email, role=body.role, name=body.name, password=body.password
    )


@router.get("/invitations")
def list_invitations(runtime: RuntimeDep, principal: CurrentPrincipal) -> Page[InvitationPublic]:
    """Your pending invitations to other workspaces."""
    return Page(items=Invitations(runtime, principal).list())


@router.post("/invitations/{invitation_id}/accept")
def accept_invitation(
    invitation_id: str, runtime: RuntimeDep, principal: CurrentPrincipal
) -> MemberPublic:
    """Accept one of your invitations: you become a member of that workspace."""
    return Invitations(runtime, principal).accept(invitation_id)


@router.get("/tokens")
def list_tokens(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    email: str | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[TokenPublic]:
    """Your tokens; an admin may list everyone's or one member's (`email`)."""
    found = Tokens(runtime, principal).page(email=email, after=cursor_time_id(cursor), limit=limit)
    return Page(items=found.items, next_cursor=time_id_cursor(found.next_key))


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(
    body: TokenCreate, runtime: RuntimeDep, principal: CurrentPrincipal
) -> TokenCreated:
    """Create a token. The response carries it once; only its hash is stored."""
    return Tokens(runtime, principal).create(
        name=body.name, email=body.email, acts_for_users=body.acts_for_users
    )


@router.delete("/tokens/{token_id}")
def revoke_token(
    token_id: str, request: Request, runtime: RuntimeDep, principal: CurrentPrincipal
) -> TokenPublic:
    revoked = Tokens(runtime, principal).revoke(token_id)
    request.app.state.principal_cache.forget_token(token_id)
    return revoked
