"""`plugboard workspaces|users|tokens …`"""

from __future__ import annotations

from typing import Annotated

import typer

from plugboard.cli.common import AsOption, JsonOption, WorkspaceOption, acting
from plugboard.cli.output import out, print_json, print_table, when

workspaces_app = typer.Typer(help="Create and list workspaces (tenants).", no_args_is_help=True)
users_app = typer.Typer(
    help="Add members to a workspace, list them, and accept invitations.", no_args_is_help=True
)
tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


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
    from plugboard.usecases.identity import create_workspace

    try:
        ws_kind = WorkspaceKind(kind)
    except ValueError:
        raise ValidationError("kind", "must be developer or client") from None
    with acting(as_user, None) as (unit, actor):
        workspace = create_workspace(unit, actor, name, ws_kind)
    if json_:
        print_json(workspace)
    else:
        out.print(f"Created {workspace.kind} workspace [bold]{workspace.name}[/] ({workspace.id})")


@workspaces_app.command("list")
def workspaces_list(json_: JsonOption = False) -> None:
    """List every workspace (local operator only)."""
    from plugboard.domain.permissions import Action, require

    with acting(None, None) as (unit, actor):
        require(actor, Action.CREATE_WORKSPACE)
        workspaces = unit.workspaces.all()
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
    from plugboard.usecases.identity import add_user

    try:
        member_role = Role(role)
    except ValueError:
        raise ValidationError("role", "must be super_admin, admin, developer or user") from None
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with acting(as_user, workspace) as (unit, actor):
        added = add_user(
            unit,
            actor,
            email=email,
            role=member_role,
            workspace=workspace,
            name=name,
            password=password,
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
    from plugboard.usecases.identity import list_members

    with acting(as_user, workspace) as (unit, actor):
        members = list_members(unit, actor, workspace)
    if json_:
        print_json(members)
        return
    print_table(
        f"Members of {members[0].workspace.name if members else workspace or 'default'}",
        ["email", "name", "role", "since"],
        [(m.user.email, m.user.name, m.role, when(m.user.created_at)) for m in members],
    )


@users_app.command("invitations")
def users_invitations(
    workspace: WorkspaceOption = None, as_user: AsOption = None, json_: JsonOption = False
) -> None:
    """List the pending invitations of the `--as` member (any workspace)."""
    from plugboard.usecases.invitations import list_invitations

    with acting(as_user, workspace) as (unit, actor):
        pending = list_invitations(unit, actor)
    if json_:
        print_json(pending)
        return
    print_table(
        "Pending invitations",
        ["id", "workspace", "role", "invited by", "since"],
        [(i.id, i.workspace_name, i.role, i.invited_by, when(i.created_at)) for i in pending],
    )


@users_app.command("accept")
def users_accept(
    invitation_id: Annotated[str, typer.Argument(help="The invitation's id (inv_…).")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Accept an invitation of the `--as` member: they become a member of that workspace."""
    from plugboard.usecases.invitations import accept_invitation

    with acting(as_user, workspace) as (unit, actor):
        membership = accept_invitation(unit, actor, invitation_id)
    if json_:
        print_json(membership)
    else:
        out.print(
            f"{membership.user.email} is now a member of {membership.workspace.name} "
            f"as {membership.role}"
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
    from plugboard.usecases.identity import create_token

    with acting(as_user, workspace) as (unit, actor):
        issued = create_token(
            unit,
            actor,
            email=email,
            workspace=workspace,
            name=name,
            acts_for_users=acts_for_users,
        )
    if json_:
        print_json({"token": issued.token, "secret": issued.secret})
    else:
        out.print(f"Token {issued.token.id} ({issued.token.name}); shown once, store it now:")
        out.print(issued.secret, markup=False)


@tokens_app.command("list")
def tokens_list(
    email: Annotated[str | None, typer.Option(help="Only this member's tokens.")] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """List API tokens (never their secrets)."""
    from plugboard.usecases.identity import list_tokens

    with acting(as_user, workspace) as (unit, actor):
        tokens = list_tokens(unit, actor, workspace=workspace, email=email)
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
    from plugboard.usecases.identity import revoke_token

    with acting(as_user, workspace) as (unit, actor):
        token = revoke_token(unit, actor, token_id)
    if json_:
        print_json(token)
    else:
        out.print(f"Revoked token {token.id} ({token.name})")
