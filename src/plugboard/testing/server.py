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
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType

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

__all__ = ["ProviderServer", "main", "run_provider"]

_STARTUP_TIMEOUT = 10.0


def _config(state: ProviderState, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_provider_app(state),
        host=host,
        port=port,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=2,
    )


def _bind(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says TCP, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class ProviderServer:
    """The provider served by uvicorn in a daemon thread; ``start()`` / ``stop()`` or ``with``."""

    def __init__(
        self, state: ProviderState | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.state = state if state is not None else ProviderState()
        self.host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._failure: BaseException | None = None
        self.base_url = ""

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the provider is not running")
        port: int = self._socket.getsockname()[1]
        return port

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the provider is already running")
        # Binding here (not in uvicorn) gives us the free port before the thread starts.
        self._socket = _bind(self.host, self._port)
        self.base_url = f"http://{self.host}:{self.port}"
        server = uvicorn.Server(_config(self.state, self.host, self.port))
        self._server = server
        sock = self._socket

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # reported by start(), not as a stray thread error
                self._failure = exc

        self._thread = threading.Thread(target=serve, name="plugboard-test-provider", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                failure = self._failure
                self.stop()
                raise RuntimeError("the test provider did not start") from failure
            time.sleep(0.002)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_STARTUP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> ProviderServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


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
    sock = _bind(args.host, args.port)
    base_url = f"http://{args.host}:{sock.getsockname()[1]}"
    print(_banner(base_url, state), flush=True)
    config = _config(state, args.host, sock.getsockname()[1])
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
