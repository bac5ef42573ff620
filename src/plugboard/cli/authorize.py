"""`plugboard authorize`: OAuth consent, entered credentials, or an account already linked."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import (
    AsOption,
    WorkspaceOption,
    acting,
    open_runtime,
    remote_client,
)
from plugboard.cli.consenting import local_consent, remote_consent
from plugboard.cli.output import out, print_json

if TYPE_CHECKING:
    from plugboard.client.remote import RemoteClient

__all__ = ["authorize"]

LinkName = Annotated[str, typer.Argument(help="The connection's link name.")]


def _authorize_remote(
    remote: RemoteClient,
    link_name: str,
    envs: list[str],
    credential: list[str] | None,
    reuse: str | None,
    account_name: str | None,
    test: bool,
    browser: bool,
    json_: bool = False,
) -> int:
    if reuse is not None:
        summary = remote.authorizations.reuse(
            link_name, reuse, environment=envs[0] if envs else "all"
        )
        if json_:
            print_json(summary)
            return 0
        out.print(
            f"{link_name} ({summary.environment}) now uses {summary.account_name}", markup=False
        )
        return 0
    if credential:
        results = remote.authorizations.enter_credential(
            link_name, _credential_values(credential), environments=envs,
            account_name=account_name, test=test,
        )  # fmt: skip
        if json_:
            print_json(results)
            return 0
        for info in results:
            out.print(
                f"Authorized {link_name} ({info.environment}) as {info.account_name}",
                markup=False,
            )
        return 0
    return remote_consent(remote, link_name, envs, browser, json_)


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
    from plugboard.usecases import authorizations
    from plugboard.usecases.credentials_entry import enter_credential

    envs = env or []
    remote = remote_client(as_user, workspace)
    if remote is not None:
        with remote:
            code = _authorize_remote(
                remote, link_name, envs, credential, reuse, account_name, not no_test,
                not no_browser, json_,
            )  # fmt: skip
        raise typer.Exit(code)
    if reuse is not None:
        with acting(as_user, workspace) as (unit, actor):
            summary = authorizations.reuse_account(
                unit, actor, connection=link_name, environment=envs[0] if envs else "all",
                account=reuse, workspace=workspace,
            )  # fmt: skip
        if json_:
            print_json(summary)
            return
        out.print(
            f"{link_name} ({summary.environment}) now uses {summary.account_name}", markup=False
        )
        return
    runtime = open_runtime()
    try:
        if credential:
            values = _credential_values(credential)
            with runtime.unit(write=False) as unit:
                from plugboard.domain.principal import OPERATOR
                from plugboard.usecases.identity import principal_for

                actor = principal_for(unit, as_user, workspace, via="cli") if as_user else OPERATOR
            results = enter_credential(
                runtime, actor, connection=link_name, values=values, environments=envs,
                account_name=account_name, test=not no_test, workspace=workspace,
            )  # fmt: skip
            if json_:
                print_json(results)
                return
            for summary in results:
                out.print(
                    f"Authorized {link_name} ({summary.environment}) as {summary.account_name}",
                    markup=False,
                )
            return
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
