"""Workspaces, members, invitations and API tokens as usecase services bound to (runtime,
acting principal), like :class:`~plugboard.usecases.connection_service.Connections`: each call
owns its transaction, the permission checks and audit entries live in the usecase functions it
calls (:mod:`plugboard.usecases.identity`, :mod:`plugboard.usecases.invitations`), lists are
filtered and keyset-paged by the store, and every call returns public records. The REST routes
are one-line calls to them; so are the CLI's administrative commands."""

from __future__ import annotations

import builtins
from datetime import datetime

from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import Principal
from plugboard.records import (
    InvitationPublic,
    MemberAdded,
    MemberPublic,
    MePublic,
    TokenCreated,
    TokenPublic,
    WorkspacePublic,
)
from plugboard.usecases import identity, invitations
from plugboard.usecases.paging import KeysetPage, fetch_one_more, keyset_page
from plugboard.usecases.runtime import Runtime

__all__ = [
    "Invitations",
    "Members",
    "MembersPage",
    "Tokens",
    "TokensPage",
    "Workspaces",
    "act_as",
]

MembersPage = KeysetPage[MemberPublic, str]
TokensPage = KeysetPage[TokenPublic, tuple[datetime, str]]


def act_as(runtime: Runtime, email: str, workspace: str | None, *, via: str) -> Principal:
    """The principal of a member, for a process that acts on the store directly (the CLI's
    ``--as``)."""
    with runtime.unit(write=False) as unit:
        return identity.principal_for(unit, email, workspace, via=via)


class Workspaces:
    def __init__(self, runtime: Runtime, actor: Principal) -> None:
        self._runtime = runtime
        self._actor = actor

    def current(self, name: str | None = None) -> WorkspacePublic:
        """The workspace the actor acts in (a token is bound to one; the operator names one)."""
        with self._runtime.unit(write=False) as unit:
            return WorkspacePublic.of(identity.workspace_for(unit, self._actor, name))

    def list(self) -> builtins.list[WorkspacePublic]:
        """Every workspace by name (the local operator only)."""
        with self._runtime.unit(write=False) as unit:
            return [WorkspacePublic.of(w) for w in identity.list_workspaces(unit, self._actor)]

    def create(self, name: str, kind: WorkspaceKind = WorkspaceKind.DEVELOPER) -> WorkspacePublic:
        """Create a workspace; a member who creates one becomes its super admin."""
        with self._runtime.unit() as unit:
            return WorkspacePublic.of(identity.create_workspace(unit, self._actor, name, kind))

    def me(self) -> MePublic:
        """The acting principal: user, workspace and role."""
        actor = self._actor
        return MePublic(
            user_id=actor.user_id, email=actor.email, workspace=self.current().name,
            role=actor.role, acts_for_users=actor.acts_for_users,
        )  # fmt: skip


class Members:
    def __init__(self, runtime: Runtime, actor: Principal, workspace: str | None = None) -> None:
        self._runtime = runtime
        self._actor = actor
        self._workspace = workspace

    def page(
        self,
        *,
        role: str | None = None,
        search: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> MembersPage:
        """Members by e-mail; ``search`` is text in the e-mail or (any case) the name."""
        with self._runtime.unit(write=False) as unit:
            found = identity.list_members(
                unit, self._actor, self._workspace, role=role, search=search, after=after,
                limit=fetch_one_more(limit),
            )  # fmt: skip
        return keyset_page([MemberPublic.of(m) for m in found], limit, lambda m: m.email)

    def list(
        self, *, role: str | None = None, search: str | None = None
    ) -> builtins.list[MemberPublic]:
        return self.page(role=role, search=search).items

    def add(
        self,
        email: str,
        *,
        role: Role = Role.USER,
        name: str | None = None,
        password: str | None = None,
    ) -> MemberAdded:
        """Add a member. An address that already has an account is invited (``status:
        invited``) and joins when its owner accepts; the answer repeats the request only."""
        with self._runtime.unit() as unit:
            added = identity.add_user(
                unit, self._actor, email=email, role=role, workspace=self._workspace,
                name=name, password=password,
            )  # fmt: skip
        return MemberAdded(
            email=added.email, name=added.name, role=added.role, workspace=added.workspace,
            status=added.status,
        )  # fmt: skip


class Invitations:
    """The acting member's own invitations to other workspaces."""

    def __init__(self, runtime: Runtime, actor: Principal) -> None:
        self._runtime = runtime
        self._actor = actor

    def list(self) -> builtins.list[InvitationPublic]:
        with self._runtime.unit(write=False) as unit:
            pending = invitations.list_invitations(unit, self._actor)
        return [InvitationPublic.of(i) for i in pending]

    def accept(self, invitation_id: str) -> MemberPublic:
        """Become a member of the inviting workspace, with the invited role."""
        with self._runtime.unit() as unit:
            return MemberPublic.of(invitations.accept_invitation(unit, self._actor, invitation_id))


class Tokens:
    def __init__(self, runtime: Runtime, actor: Principal, workspace: str | None = None) -> None:
        self._runtime = runtime
        self._actor = actor
        self._workspace = workspace

    def page(
        self,
        *,
        email: str | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> TokensPage:
        """Your tokens, oldest first; an admin may list everyone's or one member's
        (``email``). ``after`` is the (created_at, id) of the last token already seen."""
        with self._runtime.unit(write=False) as unit:
            found = identity.list_tokens(
                unit, self._actor, workspace=self._workspace, email=email, after=after,
                limit=fetch_one_more(limit),
            )  # fmt: skip
        tokens = [TokenPublic.of(t) for t in found]
        return keyset_page(tokens, limit, lambda t: (t.created_at, t.id))

    def list(self, *, email: str | None = None) -> builtins.list[TokenPublic]:
        return self.page(email=email).items

    def create(
        self, *, name: str = "api", email: str | None = None, acts_for_users: bool = False
    ) -> TokenCreated:
        """Create a token. The answer carries it once; only its hash is stored."""
        with self._runtime.unit() as unit:
            issued = identity.create_token(
                unit, self._actor, email=email, workspace=self._workspace, name=name,
                acts_for_users=acts_for_users,
            )  # fmt: skip
        return TokenCreated(**TokenPublic.of(issued.token).model_dump(), secret=issued.secret)

    def revoke(self, token_id: str) -> TokenPublic:
        with self._runtime.unit() as unit:
            return TokenPublic.of(identity.revoke_token(unit, self._actor, token_id))
