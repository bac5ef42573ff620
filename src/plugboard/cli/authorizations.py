"""`plugboard authorizations …`: list, revoke, rename, primary and switch a connection's
authorizations."""

from __future__ import annotations

from typing import Annotated

import typer

from plugboard.cli.common import (
    AsOption,
    JsonOption,
    WorkspaceOption,
    client_for,
    open_runtime,
    remote_client,
)
from plugboard.cli.consenting import local_consent, remote_consent
from plugboard.cli.output import err, out, print_json, print_table, when

__all__ = ["authorizations_app"]

authorizations_app = typer.Typer(
    help="View and manage a connection's authorizations: list, revoke, rename, primary, reuse.",
    no_args_is_help=True,
)

LinkName = Annotated[str, typer.Argument(help="The connection's link name.")]
EnvOption = Annotated[
    str | None, typer.Option("--env", help="Environment (per-environment connections).")
]
OwnerOption = Annotated[
    str | None, typer.Option("--owner", help="User-level: whose authorization (e-mail).")
]


@authorizations_app.command("list")
def authorizations_list(
    link_name: LinkName,
    search: Annotated[str | None, typer.Option(help="Text in the owner's name or e-mail.")] = None,
    user_type: Annotated[str | None, typer.Option(help="The owner's role.")] = None,
    env: EnvOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """List a connection's authorizations: owner, environment, account, status, primary."""
    with client_for(as_user, workspace) as client:
        infos = client.authorizations.list(
            link_name, search=search, user_type=user_type, environment=env
        )
    if json_:
        print_json(
            [
                {
                    "environment": a.environment,
                    "owner_email": a.owner_email,
                    "owner_name": a.owner_name,
                    "owner_role": a.owner_role,
                    "account": a.account_name,
                    "status": a.status,
                    "primary": a.is_primary,
                    "updated_at": a.updated_at,
                }
                for a in infos
            ]  # fmt: skip
        )
        return
    print_table(
        f"Authorizations of {link_name} ({len(infos)})",
        ["environment", "user", "e-mail", "type", "account", "status", "primary", "date"],
        [
            (
                a.environment,
                a.owner_name or "",
                a.owner_email or "",
                a.owner_role or "",
                a.account_name or "",
                a.status,
                "yes" if a.is_primary else "",
                when(a.updated_at),
            )
            for a in infos
        ],  # fmt: skip
    )


@authorizations_app.command("revoke")
def authorizations_revoke(
    link_name: LinkName,
    env: EnvOption = None,
    owner: OwnerOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Delete the credential; the provider's token is revoked when nobody else uses it."""
    from plugboard.domain.principal import OPERATOR
    from plugboard.usecases.consent import ConsentFlows
    from plugboard.usecases.identity import principal_for

    remote = remote_client(as_user, workspace)
    if remote is not None:
        with remote:
            revoked = remote.authorizations.revoke(link_name, environment=env, owner=owner)
        if json_:
            print_json(
                {
                    "authorization_status": revoked.status,
                    "primary_warning": revoked.primary_warning,
                    "provider": revoked.provider,
                }
            )
            return
        out.print(f"Revoked {link_name}; provider: {revoked.provider}", markup=False)
        if revoked.primary_warning:
            err.print(f"warning: {revoked.primary_warning}", markup=False)
        return
    runtime = open_runtime()
    try:
        with runtime.unit(write=False) as unit:
            actor = principal_for(unit, as_user, workspace, via="cli") if as_user else OPERATOR
        with ConsentFlows(runtime) as flows:
            outcome = flows.revoke(
                actor, connection=link_name, environment=env, owner=owner, workspace=workspace
            )
    finally:
        runtime.close()
    if json_:
        print_json(outcome)
        return
    out.print(f"Revoked {link_name}; provider: {outcome.provider}", markup=False)
    if outcome.primary_warning:
        err.print(f"warning: {outcome.primary_warning}", markup=False)


@authorizations_app.command("rename")
def authorizations_rename(
    link_name: LinkName,
    name: Annotated[str, typer.Argument(help="The account's new display name.")],
    env: EnvOption = None,
    owner: OwnerOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Rename the authorized account's display name."""
    with client_for(as_user, workspace) as client:
        summary = client.authorizations.rename(link_name, name, environment=env, owner=owner)
    if json_:
        print_json(summary)
        return
    out.print(
        f"{link_name} ({summary.environment}): account now named {summary.account_name}",
        markup=False,
    )


@authorizations_app.command("primary")
def authorizations_primary(
    link_name: LinkName,
    owner: Annotated[
        str, typer.Option("--owner", help="The member whose account becomes primary.")
    ],
    env: EnvOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Mark a user-level authorization as the primary account (super admins only)."""
    with client_for(as_user, workspace) as client:
        summary = client.authorizations.set_primary(link_name, owner=owner, environment=env)
    if json_:
        print_json(summary)
        return
    out.print(f"{owner}'s account is now the primary account of {link_name}", markup=False)


@authorizations_app.command("switch")
def authorizations_switch(
    link_name: LinkName,
    reuse: Annotated[
        str | None, typer.Option("--reuse", help="Switch to an account already linked.")
    ] = None,
    env: EnvOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    no_browser: Annotated[bool, typer.Option("--no-browser")] = False,
    json_: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the outcome as JSON (a consent URL then goes to stderr)."
        ),
    ] = False,
) -> None:
    """Switch an authorization to another account: one already linked (--reuse), or a new one
    through a fresh consent. Everyone using the connection uses the new account at once."""
    if reuse is None:
        remote = remote_client(as_user, workspace)
        if remote is not None:
            with remote:
                code = remote_consent(
                    remote, link_name, [env] if env else [], not no_browser, json_
                )
            raise typer.Exit(code)
        runtime = open_runtime()
        try:
            code = local_consent(
                runtime, link_name, [env] if env else [], as_user, workspace, not no_browser, json_
            )
        finally:
            runtime.close()
        raise typer.Exit(code)
    with client_for(as_user, workspace) as client:
        summary = client.authorizations.reuse(link_name, reuse, environment=env or "all")
    if json_:
        print_json(summary)
        return
    out.print(f"{link_name} ({summary.environment}) now uses {summary.account_name}", markup=False)
