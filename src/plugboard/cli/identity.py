"""`plugboard workspaces|users|tokens …`"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import AsOption, JsonOption, WorkspaceOption, open_runtime
from plugboard.cli.output import out, print_json, print_table, when

if TYPE_CHECKING:
    from plugboard.domain.principal import Principal
    from plugboard.usecases.runtime import Runtime

workspaces_app = typer.Typer(help="Create and list workspaces (tenants).", no_args_is_help=True)
users_app = typer.Typer(
    help="Add members to a workspace, list them, and accept invitations.", no_args_is_help=True
)
tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


@contextmanager
def acting(as_user: str | None, workspace: str | None) -> Iterator[tuple[Runtime, Principal]]:
    """The store's runtime and who acts on it: the ``--as`` member or the local operator. The
    usecase services each call builds own their transactions."""
    from plugboard.domain.principal import OPERATOR
    from plugboard.usecases.identity_service import act_as

    runtime = open_runtime()
    try:
        yield runtime, act_as(runtime, as_user, workspace, via="cli") if as_user else OPERATOR
    finally:
        runtime.close()


@workspaces_app.command("create")
def workspaces_create(
    name: Annotated[str, typer.Argument(help="Lower-case name, e.g. acme or acme-prod.")],
    kind: Annotated[
        str, typer.Option(help="developer (build and test apps) or client (run installed apps).")
    ] = "developer",
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Create a workspace. A member who creates one becomes its super admin."""
    from plugboard.domain.models import WorkspaceKind
    from plugboard.errors import ValidationError
    from plugboard.usecases.identity_service import Workspaces

    try:
        ws_kind = WorkspaceKind(kind)
    except ValueError:
        raise ValidationError("kind", "must be developer or client") from None
    with acting(as_user, None) as (runtime, actor):
        workspace = Workspaces(runtime, actor).create(name, ws_kind)
    if json_:
        print_json(workspace)
    else:
        out.print(f"Created {workspace.kind} workspace [bold]{workspace.name}[/] ({workspace.id})")


@workspaces_app.command("list")
def workspaces_list(json_: JsonOption = False) -> None:
    """List every workspace (local operator only)."""
    from plugboard.usecases.identity_service import Workspaces

    with acting(None, None) as (runtime, actor):
        workspaces = Workspaces(runtime, actor).list()
    if json_:
        print_json(workspaces)
        return
    print_table(
        "Workspaces",
        ["name", "kind", "id", "created"],
        [(w.name, w.kind, w.id, when(w.created_at)) for w in workspaces],
    )


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The member's e-mail address.")],
    role: Annotated[str, typer.Option(help="super_admin, admin, developer or user.")] = "user",
    name: Annotated[
        str | None, typer.Option(help="Display name (default: from the e-mail).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a console password from stdin.")
    ] = False,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Add a member with one role to a workspace. An address that already has an account is
    invited instead (when acting `--as` a member): it joins when its owner accepts."""
    import sys

    from plugboard.domain.models import Role
    from plugboard.errors import ValidationError
    from plugboard.usecases.identity_service import Members

    try:
        member_role = Role(role)
    except ValueError:
        raise ValidationError("role", "must be super_admin, admin, developer or user") from None
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with acting(as_user, workspace) as (runtime, actor):
        added = Members(runtime, actor, workspace).add(
            email, role=member_role, name=name, password=password
        )
    if json_:
        print_json(added)
    elif added.status == "invited":
        out.print(
            f"Invited {added.email} to {added.workspace} as {added.role}: they become a member "
            "when they accept (`plugboard users accept`)"
        )
    else:
        out.print(f"Added {added.email} to {added.workspace} as {added.role}")


@users_app.command("list")
def users_list(
    workspace: WorkspaceOption = None, as_user: AsOption = None, json_: JsonOption = False
) -> None:
    """List the members of a workspace with their roles."""
    from plugboard.usecases.identity_service import Members

    with acting(as_user, workspace) as (runtime, actor):
        members = Members(runtime, actor, workspace).list()
    if json_:
        print_json(members)
        return
    print_table(
        f"Members of {workspace or 'default'}",
        ["email", "name", "role", "since"],
        [(m.email, m.name, m.role, when(m.since)) for m in members],
    )


@users_app.command("invitations")
def users_invitations(
    workspace: WorkspaceOption = None, as_user: AsOption = None, json_: JsonOption = False
) -> None:
    """List the pending invitations of the `--as` member (any workspace)."""
    from plugboard.usecases.identity_service import Invitations

    with acting(as_user, workspace) as (runtime, actor):
        pending = Invitations(runtime, actor).list()
    if json_:
        print_json(pending)
        return
    print_table(
        "Pending invitations",
        ["id", "workspace", "role", "invited by", "since"],
        [(i.id, i.workspace, i.role, i.invited_by, when(i.created_at)) for i in pending],
    )


@users_app.command("accept")
def users_accept(
    invitation_id: Annotated[str, typer.Argument(help="The invitation's id (inv_…).")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Accept an invitation of the `--as` member: they become a member of that workspace."""
    from plugboard.usecases.identity_service import Invitations

    with acting(as_user, workspace) as (runtime, actor):
        invitations = Invitations(runtime, actor)
        joining = {i.id: i.workspace for i in invitations.list()}
        membership = invitations.accept(invitation_id)
    if json_:
        print_json(membership)
    else:
        out.print(
            f"{membership.email} is now a member of {joining[invitation_id]} as {membership.role}"
        )


@tokens_app.command("create")
def tokens_create(
    email: Annotated[
        str | None, typer.Option(help="Whose token (default: the --as member).")
    ] = None,
    name: Annotated[str, typer.Option(help="A label to recognise the token by.")] = "cli",
    acts_for_users: Annotated[
        bool,
        typer.Option(
            "--acts-for-users", help="Allow the token to pick the user an invoke runs as."
        ),
    ] = False,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Create an API token. It is printed once and stored only as a hash."""
    from plugboard.usecases.identity_service import Tokens

    with acting(as_user, workspace) as (runtime, actor):
        issued = Tokens(runtime, actor, workspace).create(
            name=name, email=email, acts_for_users=acts_for_users
        )
    if json_:
        print_json(issued)
    else:
        out.print(f"Token {issued.id} ({issued.name}); shown once, store it now:")
        out.print(issued.secret, markup=False)


@tokens_app.command("list")
def tokens_list(
    email: Annotated[str | None, typer.Option(help="Only this member's tokens.")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """List API tokens (never their secrets)."""
    from plugboard.usecases.identity_service import Tokens

    with acting(as_user, workspace) as (runtime, actor):
        tokens = Tokens(runtime, actor, workspace).list(email=email)
    if json_:
        print_json(tokens)
        return
    print_table(
        "API tokens",
        ["id", "name", "prefix", "created", "last used", "revoked"],
        [
            (
                t.id,
                t.name,
                t.prefix + "…",
                when(t.created_at),
                when(t.last_used_at),
                when(t.revoked_at),
            )
            for t in tokens
        ],
    )


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (tok_…), from `tokens list`.")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Revoke an API token; requests with it are refused from now on."""
    from plugboard.usecases.identity_service import Tokens

    with acting(as_user, workspace) as (runtime, actor):
        token = Tokens(runtime, actor, workspace).revoke(token_id)
    if json_:
        print_json(token)
    else:
        out.print(f"Revoked token {token.id} ({token.name})")
