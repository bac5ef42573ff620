"""`plugboard authorize`: OAuth consent, entered credentials, or an account already linked."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import (
    AsOption,
    WorkspaceOption,
    client_for,
    open_runtime,
    remote_client,
)
from plugboard.cli.consenting import local_consent, remote_consent
from plugboard.cli.output import out, print_json

if TYPE_CHECKING:
    pass

__all__ = ["authorize"]

LinkName = Annotated[str, typer.Argument(help="The connection's link name.")]


def authorize(
    link_name: LinkName,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", help="Environment to authorize (repeatable; per-environment)."),
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option(
            "--credential",
            help="KEY=VALUE of an API key, Basic or AWS credential (repeatable); `-` as the value "
            "reads it from stdin.",
        ),
    ] = None,
    reuse: Annotated[
        str | None,
        typer.Option("--reuse", help="Reuse an account already linked (its name or id)."),
    ] = None,
    account_name: Annotated[
        str | None, typer.Option(help="A display name for the account (credentials).")
    ] = None,
    no_test: Annotated[
        bool, typer.Option("--no-test", help="Store a credential without the service's test call.")
    ] = False,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the consent URL but do not open it.")
    ] = False,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the outcome as JSON (the consent URL then goes to stderr).",
        ),
    ] = False,
) -> None:
    """Authorize a connection: OAuth consent (URL on the first line of stdout, then wait up to
    90 s), entered credentials, or an account already linked for another environment."""

    envs = env or []
    if reuse is not None:
        with client_for(as_user, workspace) as client:
            summary = client.authorizations.reuse(
                link_name, reuse, environment=envs[0] if envs else "all"
            )
        if json_:
            print_json(summary)
            return
        out.print(
            f"{link_name} ({summary.environment}) now uses {summary.account_name}", markup=False
        )
        return
    if credential:
        with client_for(as_user, workspace) as client:
            results = client.authorizations.enter_credential(
                link_name, _credential_values(credential), environments=envs,
                account_name=account_name, test=not no_test,
            )  # fmt: skip
        if json_:
            print_json(results)
            return
        for info in results:
            out.print(
                f"Authorized {link_name} ({info.environment}) as {info.account_name}",
                markup=False,
            )
        return
    # A consent needs a callback: the server's own, or a listener of this process.
    remote = remote_client(as_user, workspace)
    if remote is not None:
        with remote:
            code = remote_consent(remote, link_name, envs, not no_browser, json_)
        raise typer.Exit(code)
    runtime = open_runtime()
    try:
        code = local_consent(runtime, link_name, envs, as_user, workspace, not no_browser, json_)
    finally:
        runtime.close()
    raise typer.Exit(code)


def _credential_values(pairs: list[str]) -> dict[str, str]:
    from plugboard.errors import ValidationError

    values: dict[str, str] = {}
    for i, pair in enumerate(pairs):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationError(f"--credential[{i}]", "must be KEY=VALUE")
        values[key] = sys.stdin.readline().rstrip("\n") if value == "-" else value
    return values
