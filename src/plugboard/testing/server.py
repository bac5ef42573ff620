"""Run the test provider on 127.0.0.1 in a background thread (or standalone).

``with run_provider() as (base_url, state): ...`` starts uvicorn on a free port, returns once the
socket accepts connections (well under a second), and stops the server when the block ends.
:class:`ProviderServer` is the same thing as an object, for a session-scoped pytest fixture whose
state is reset between tests (see :mod:`plugboard.testing.fixtures`).

Standalone: ``python -m plugboard.testing.server --port 9000`` prints the base URL and the demo
credentials it registered, then serves until interrupted.

uvicorn runs with its access log off (tokens travel in query strings on some services), without
touching the logging configuration, without proxy-header rewriting (the OAuth 1 base string
depends on the scheme and host as received) and with lifespan off (the app has no startup work).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import uvicorn

from plugboard.testing.provider import create_provider_app
from plugboard.testing.provider_state import (
    DEMO_API_KEY,
    DEMO_AWS_ACCESS_KEY,
    DEMO_AWS_SECRET_KEY,
    DEMO_BASIC_PASSWORD,
    DEMO_BASIC_USER,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_REDIRECT_URI,
    ProviderState,
)
from plugboard.threaded_server import ThreadedServer, bind_socket, uvicorn_config

__all__ = ["ProviderServer", "ThreadedServer", "main", "run_provider"]


class ProviderServer(ThreadedServer):
    """The test provider served in a daemon thread; its `state` is inspected by tests."""

    def __init__(
        self, state: ProviderState | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.state = state if state is not None else ProviderState()
        super().__init__(
            create_provider_app(self.state), host=host, port=port, name="test provider"
        )


@contextmanager
def run_provider(
    state: ProviderState | None = None, port: int = 0
) -> Iterator[tuple[str, ProviderState]]:
    """Serve the provider on 127.0.0.1:``port`` (0: a free one); yields ``(base_url, state)``."""
    with ProviderServer(state, port=port) as server:
        yield server.base_url, server.state


def _banner(base_url: str, state: ProviderState) -> str:
    redirect_uris = ", ".join(state.oauth2_clients[DEMO_CLIENT_ID].redirect_uris)
    return "\n".join(
        [
            f"Plugboard test provider on {base_url}",
            f"  OAuth 2   authorize {base_url}/oauth2/authorize",
            f"            token     {base_url}/oauth2/token",
            f"            revoke    {base_url}/oauth2/revoke",
            f"            client_id {DEMO_CLIENT_ID}  client_secret {DEMO_CLIENT_SECRET}",
            "            (client_secret_basic, PKCE S256 required)",
            f"            redirect_uri {redirect_uris}",
            f"            API       {base_url}/api/oauth2/...",
            f"  OAuth 1   request   {base_url}/oauth1/request_token",
            f"            authorize {base_url}/oauth1/authorize",
            f"            access    {base_url}/oauth1/access_token",
            f"            consumer  {DEMO_CONSUMER_KEY} / {DEMO_CONSUMER_SECRET}",
            f"            API       {base_url}/api/oauth1/...",
            f"  API key   X-Api-Key: {DEMO_API_KEY}  ->  {base_url}/api/apikey/...",
            f"  Basic     {DEMO_BASIC_USER} / {DEMO_BASIC_PASSWORD}  ->  {base_url}/api/basic/...",
            f"  AWS SigV4 {DEMO_AWS_ACCESS_KEY} / {DEMO_AWS_SECRET_KEY}",
            f"            -> {base_url}/api/aws/...",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m plugboard.testing.server",
        description="Serve the Plugboard test provider (a fake third-party service).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--redirect-uri",
        action="append",
        dest="redirect_uris",
        help=f"a redirect URI of the demo OAuth 2 client (repeatable; default {DEMO_REDIRECT_URI})",
    )
    args = parser.parse_args(argv)
    state = ProviderState(redirect_uris=args.redirect_uris or (DEMO_REDIRECT_URI,))
    sock = bind_socket(args.host, args.port)
    base_url = f"http://{args.host}:{sock.getsockname()[1]}"
    print(_banner(base_url, state), flush=True)
    config = uvicorn_config(create_provider_app(state), args.host, sock.getsockname()[1], "off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
