"""Running an OAuth consent from the CLI: print the URL, wait for the provider's callback (on
this machine, or on the server for a remote CLI) and report how it ended. Used by `plugboard
authorize` and `plugboard authorizations switch`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from plugboard.cli.output import err, out, print_json, when

if TYPE_CHECKING:
    from plugboard.client.remote import RemoteClient
    from plugboard.usecases.consent import ConsentFlows
    from plugboard.usecases.runtime import Runtime

__all__ = ["CONSENT_SECONDS", "LOCAL_HOSTS", "POLL_SECONDS", "local_consent", "remote_consent"]

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


def local_consent(
    runtime: Runtime,
    link_name: str,
    envs: list[str],
    as_user: str | None,
    workspace: str | None,
    browser: bool,
    json_: bool = False,
) -> int:
    """Start the consent here, print its URL first and wait for the callback (received by
    the server at the base URL, or by a listener started here when that is a local address)."""
    from urllib.parse import urlsplit

    from plugboard.domain.principal import OPERATOR
    from plugboard.server.callback_app import create_callback_app
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
        # Receive the callback ourselves, on the address the provider will redirect to (the
        # callback route alone: the whole server app cost a second of start-up).
        listener = ThreadedServer(
            create_callback_app(runtime),
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


def remote_consent(
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
