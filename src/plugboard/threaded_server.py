"""Serving an ASGI app with uvicorn in a background thread: the CLI's temporary OAuth callback
listener, the bundled test provider, and tests that need a real server on 127.0.0.1. Below
both `server/` and `testing/`, so neither imports the other for it.

uvicorn runs with its access log off (tokens travel in query strings on some services), without
touching the logging configuration and without proxy-header rewriting.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any, Literal, Self

import uvicorn

__all__ = ["ThreadedServer", "bind_socket", "uvicorn_config"]

_STARTUP_TIMEOUT = 10.0


def bind_socket(host: str, port: int) -> socket.socket:
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


Lifespan = Literal["auto", "on", "off"]


def uvicorn_config(app: Any, host: str, port: int, lifespan: Lifespan) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan=lifespan,
        log_config=None,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=2,
    )


class ThreadedServer:
    """Any ASGI app served by uvicorn on ``host`` in a daemon thread; ``start()`` / ``stop()``
    or ``with``. The port is bound before the thread starts, so ``base_url`` is known at once."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        lifespan: Lifespan = "off",
        name: str = "test server",
    ) -> None:
        self.app = app
        self.host = host
        self.name = name
        self._port = port
        self._lifespan = lifespan
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._failure: BaseException | None = None
        self.base_url = ""

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError(f"the {self.name} is not running")
        port: int = self._socket.getsockname()[1]
        return port

    def bind(self) -> str:
        """Take the port now (before `start`), e.g. to build URLs the app itself needs."""
        if self._socket is None:
            self._socket = bind_socket(self.host, self._port)
            self.base_url = f"http://{self.host}:{self.port}"
        return self.base_url

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"the {self.name} is already running")
        self.bind()
        server = uvicorn.Server(uvicorn_config(self.app, self.host, self.port, self._lifespan))
        self._server = server
        sock = self._socket
        assert sock is not None

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # reported by start(), not as a stray thread error
                self._failure = exc

        self._thread = threading.Thread(target=serve, name=f"plugboard-{self.name}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                failure = self._failure
                self.stop()
                raise RuntimeError(f"the {self.name} did not start") from failure
            time.sleep(0.002)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_STARTUP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
