"""`plugboard authorize` and `plugboard authorizations …`"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import (
    AsOption,
    JsonOption,
    WorkspaceOption,
    acting,
    open_runtime,
    refuse_remote,
    remote_client,
)
from plugboard.cli.output import err, out, print_json, print_table, when

if TYPE_CHECKING:
    from plugboard.client.remote import RemoteClient
    from plugboard.usecases.consent import ConsentFlows
    from plugboard.usecases.runtime import Runtime

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
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
CONSENT_SECONDS = 90
POLL_SECONDS = 0.5


def _server_answers(base_url: str) -> bool:
    import httpx2

    try:
        httpx2.get(f"{base_url}/health", timeout=1.5)
    except httpx2.HTTPError:
        return False
    return True


def _wait_for_callback(flows: ConsentFlows, flow_id: str, timeout: float) -> tuple[str, str | None]:
    """Poll the flow until it completed (the credential is stored) or failed, or its window
    (plus the time a late code exchange may take) passed."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

    from plugboard.domain.oauth import EXCHANGE_GRACE_SECONDS, FlowState

    deadline = time.monotonic() + timeout + EXCHANGE_GRACE_SECONDS
    with Progress(
        SpinnerColumn(), TextColumn("waiting for the consent"), TimeRemainingColumn(),
        console=err, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("wait", total=timeout)
        while True:
            state, outcome = flows.status(flow_id)
            if state is not FlowState.PENDING or time.monotonic() > deadline:
                return state.value, outcome
            progress.update(task, completed=min(timeout, timeout - (deadline - time.monotonic())))
            time.sleep(0.25)


def _consent(
    runtime: Runtime,
    link_name: str,
    envs: list[str],
    as_user: str | None,
    workspace: str | None,
    browser: bool,
    json_: bool = False,
) -> int:
    from urllib.parse import urlsplit

    from plugboard.domain.principal import OPERATOR
    from plugboard.server.app import create_app
    from plugboard.threaded_server import ThreadedServer
    from plugboard.usecases.consent import ConsentFlows
    from plugboard.usecases.identity import principal_for

    base_url = runtime.settings.base_url
    listener: ThreadedServer | None = None
    if not _server_answers(base_url):
        parts = urlsplit(base_url)
        if parts.hostname not in LOCAL_HOSTS:
            err.print(
                f"error: no Plugboard server answers at {base_url}, which receives the provider's "
                "callback: start `plugboard serve` there first",
                markup=False,
            )
            return 1
        # Receive the callback ourselves, on the address the provider will redirect to.
        listener = ThreadedServer(
            create_app(runtime.settings, runtime=runtime),
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 80,
            lifespan="on",
            name="callback listener",
        )
        listener.start()
    try:
        with runtime.unit(write=False) as unit:
            actor = principal_for(unit, as_user, workspace, via="cli") if as_user else OPERATOR
        with ConsentFlows(runtime) as flows:
            started = flows.start(
                actor, connection=link_name, environments=envs, workspace=workspace
            )
            _print_url(started.authorize_url, json_)
            err.print(
                f"Open the URL above and consent before {when(started.expires_at)} "
                f"({int((started.expires_at - runtime.clock.now()).total_seconds())} s).",
                markup=False,
            )
            if browser:
                import webbrowser

                webbrowser.open(started.authorize_url)
            window = (started.expires_at - runtime.clock.now()).total_seconds() + 2
            state, outcome = _wait_for_callback(flows, started.flow_id, window)
    finally:
        if listener is not None:
            listener.stop()
    return _report(link_name, started.authorize_url, state, outcome, json_)


def _print_url(url: str, json_: bool) -> None:
    """The consent URL: the first line of stdout, for scripts (on stderr with --json, where
    stdout holds the one JSON result)."""
    if json_:
        err.print(url, markup=False, soft_wrap=True)
    else:
        print(url, flush=True)


def _report(link_name: str, url: str, state: str, outcome: str | None, json_: bool) -> int:
    """Print how the consent ended (the provider's error when it failed); 0 when it completed
    and the credential is stored, else 1."""
    from plugboard.domain.oauth import EXCHANGING

    if outcome == EXCHANGING:
        reason = "the code exchange did not finish in time"
    elif outcome:
        reason = outcome.removeprefix("failed: ")
    else:
        reason = "the consent window passed" if state in ("pending", "expired") else state
    if json_:
        print_json(
            {
                "connection": link_name,
                "state": state,
                "authorized": state == "completed",
                "outcome": outcome if state == "completed" else None,
                "error": None if state == "completed" else reason,
                "authorize_url": url,
            }
        )
        return 0 if state == "completed" else 1
    if state == "completed":
        out.print(f"Authorized {link_name}: {outcome}", markup=False)
        return 0
    err.print(f"error: {link_name} was not authorized: {reason}", markup=False)
    return 1


def _remote_consent(
    remote: RemoteClient, link_name: str, envs: list[str], browser: bool, json_: bool = False
) -> int:
    """Start the consent on the server, print its URL first, poll until it is done or 90 s."""
    from datetime import UTC, datetime

    from plugboard.domain.oauth import EXCHANGE_GRACE_SECONDS

    started = remote.authorizations.start_consent(link_name, environments=envs)
    _print_url(started.authorize_url, json_)
    expires = started.expires_at
    left = (expires - datetime.now(expires.tzinfo or UTC)).total_seconds()
    window = min(max(left, 0.0) + 2, CONSENT_SECONDS + 2)
    err.print(
        f"Open the URL above and consent before {when(expires)} ({int(left)} s).", markup=False
    )
    if browser:
        import webbrowser

        webbrowser.open(started.authorize_url)
    # Pending also while the server exchanges the code: wait for the stored credential.
    deadline = time.monotonic() + window + EXCHANGE_GRACE_SECONDS
    state, outcome = remote.authorizations.consent_status(started.flow_id)
    while state == "pending" and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        state, outcome = remote.authorizations.consent_status(started.flow_id)
    return _report(link_name, started.authorize_url, state, outcome, json_)


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
        body = {"environment": envs[0] if envs else "all", "account": reuse}
        summary = remote.request(
            "POST", f"/connections/{link_name}/authorizations/reuse", json=body
        ).json()
        if json_:
            print_json(summary)
            return 0
        out.print(
            f"{link_name} ({summary['environment']}) now uses {summary['account_name']}",
            markup=False,
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
    return _remote_consent(remote, link_name, envs, browser, json_)


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
        code = _consent(runtime, link_name, envs, as_user, workspace, not no_browser, json_)
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
    from plugboard.usecases.authorizations import list_authorizations

    remote = remote_client(as_user, workspace)
    if remote is not None:
        with remote:
            infos = remote.authorizations.list(
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
        return
    with acting(as_user, workspace) as (unit, actor):
        rows = list_authorizations(
            unit, actor, connection=link_name, search=search, user_type=user_type,
            environment=env, workspace=workspace,
        )  # fmt: skip
    if json_:
        print_json(
            [
                {
                    "environment": r.summary.environment,
                    "owner_email": r.owner_email,
                    "owner_name": r.owner_name,
                    "owner_role": r.owner_role,
                    "account": r.summary.account_name,
                    "status": r.summary.status,
                    "primary": r.summary.is_primary,
                    "updated_at": r.summary.updated_at,
                }
                for r in rows
            ]
        )
        return
    print_table(
        f"Authorizations of {link_name} ({len(rows)})",
        ["environment", "user", "e-mail", "type", "account", "status", "primary", "date"],
        [
            (
                r.summary.environment,
                r.owner_name or "",
                r.owner_email or "",
                r.owner_role.value if r.owner_role else "",
                r.summary.account_name or "",
                r.summary.status.value,
                "yes" if r.summary.is_primary else "",
                when(r.summary.updated_at),
            )
            for r in rows
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
    refuse_remote("authorizations rename")
    from plugboard.usecases.authorizations import rename_account

    with acting(as_user, workspace) as (unit, actor):
        summary = rename_account(
            unit, actor, connection=link_name, name=name, environment=env, owner=owner,
            workspace=workspace,
        )  # fmt: skip
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
    refuse_remote("authorizations primary")
    from plugboard.usecases.authorizations import mark_primary

    with acting(as_user, workspace) as (unit, actor):
        summary = mark_primary(
            unit, actor, connection=link_name, owner=owner, environment=env, workspace=workspace
        )
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
    refuse_remote("authorizations switch")
    if reuse is None:
        runtime = open_runtime()
        try:
            code = _consent(
                runtime, link_name, [env] if env else [], as_user, workspace, not no_browser, json_
            )
        finally:
            runtime.close()
        raise typer.Exit(code)
    from plugboard.usecases.authorizations import reuse_account

    with acting(as_user, workspace) as (unit, actor):
        summary = reuse_account(
            unit, actor, connection=link_name, environment=env or "all", account=reuse,
            workspace=workspace,
        )  # fmt: skip
    if json_:
        print_json(summary)
        return
    out.print(f"{link_name} ({summary.environment}) now uses {summary.account_name}", markup=False)
