"""How `plugboard serve` runs uvicorn: limits a slow or greedy client cannot get past, and an
access log without query values.

The server runs on uvloop and parses with httptools when they are installed (the ``server``
extra installs both; a pass-through request through ``/proxy`` costs several times less than on
asyncio's loop with h11), else on asyncio and h11.

uvicorn's protocols have a keep-alive timeout between requests but no deadline for a request's
headers or pauses in its body, and they take headers of any size (h11 answers a bare 400 past its
buffer). The protocols below add, per connection:

* a header deadline: the request line and headers must arrive within
  ``request_header_timeout_seconds`` of the first byte (or of connecting), else 408 and close;
* a body idle timeout: no pause longer than ``request_body_timeout_seconds`` while a body is
  being sent (time the app takes to consume what it has does not count), else 408 and close;
* a header size limit: more than ``max_request_header_bytes`` before the headers end is answered
  431 and the connection closed.

Each refusal is one info line on the ``plugboard.server`` logger, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    HTTPTOOLS = True
except ImportError:  # httptools not installed: h11 it is
    HttpToolsProtocol = H11Protocol  # type: ignore[misc,assignment]
    HTTPTOOLS = False

from plugboard.server.access_log import access_log_config
from plugboard.server.write_coalescing import CoalescingTransport
from plugboard.settings import Settings

__all__ = [
    "ClientLimits",
    "WorkerH11Protocol",
    "WorkerHttpToolsProtocol",
    "guarded_protocol",
    "serve_workers",
    "server_config",
    "set_worker_limits",
]

log = logging.getLogger("plugboard.server")

_PHRASES = {408: "Request Timeout", 431: "Request Header Fields Too Large"}


@dataclass(frozen=True)
class ClientLimits:
    header_timeout: float
    body_timeout: float
    max_header_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientLimits:
        return cls(
            header_timeout=settings.request_header_timeout_seconds,
            body_timeout=settings.request_body_timeout_seconds,
            max_header_bytes=settings.max_request_header_bytes,
        )


class _Guard:
    """The limits, over either of uvicorn's HTTP/1.1 protocols: the subclass says whether the
    client is sending a request's headers or its body."""

    limits = ClientLimits(header_timeout=10.0, body_timeout=30.0, max_header_bytes=32768)
    # What uvicorn's protocols provide.
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    client: tuple[str, int] | None
    cycle: Any
    flow: Any

    _deadline: asyncio.TimerHandle | None = None
    _header_bytes = 0

    def _sending_headers(self) -> bool:
        """Between requests or in a request's headers (not in its body, not waiting for the
        app's answer)."""
        raise NotImplementedError

    def _sending_body(self) -> bool:
        raise NotImplementedError

    def _guard_data(self, data: bytes) -> bool:
        """Before the parser sees ``data``: False when it was refused."""
        if self._sending_headers():
            if self._deadline is None:
                self._arm(self.limits.header_timeout, self._headers_too_slow)
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(431, f"headers over {self.limits.max_header_bytes} bytes")
                return False
        return True

    def _follow_state(self) -> None:
        if self._sending_body():
            self._header_bytes = 0
            self._arm(self.limits.body_timeout, self._body_too_slow)  # re-armed on every chunk
        elif not self._sending_headers():
            self._header_bytes = 0
            self._disarm()
        # else: waiting for headers, the deadline runs from their first byte

    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if self._sending_headers():
            self._refuse(408, f"no complete headers within {self.limits.header_timeout:g} s")

    def _body_too_slow(self) -> None:
        self._deadline = None
        if not self._sending_body():
            return
        if self.flow.read_paused:  # the app has not consumed what it has: not the client's fault
            self._arm(self.limits.body_timeout, self._body_too_slow)
            return
        self._refuse(408, f"request body paused over {self.limits.body_timeout:g} s")

    def _refuse(self, status: int, why: str) -> None:
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        cycle = self.cycle
        answered = cycle is not None and (cycle.response_started or cycle.response_complete)
        if answered:
            log.info("%s: %s; closed the connection", client, why)
        else:
            log.info("%s: %s; answered %d and closed the connection", client, why, status)
        if cycle is not None and not cycle.response_complete:
            # The app (if any is running) sees a disconnect and sends nothing more.
            cycle.disconnected = True
            cycle.message_event.set()
        if not answered:
            body = f"{_PHRASES[status]}\n".encode()
            head = (
                f"HTTP/1.1 {status} {_PHRASES[status]}\r\n"
                "content-type: text/plain; charset=utf-8\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
            )
            self.transport.write(head.encode() + body)
        self.transport.close()


class GuardedH11Protocol(_Guard, H11Protocol):
    """h11 (pure Python): where httptools is not installed."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, self._headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _sending_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def _sending_body(self) -> bool:
        return self.conn.their_state is h11.SEND_BODY

    def data_received(self, data: bytes) -> None:
        if self._guard_data(data):
            super().data_received(data)
            self._follow_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_state()


class GuardedHttpToolsProtocol(_Guard, HttpToolsProtocol):
    """httptools (llhttp, in C): several times cheaper per request than h11. The parser calls
    back as it reads, so the protocol follows where the client is from those calls."""

    _part: str | None = None  # "headers" or "body" of the request being read, else None
    _unanswered = 0  # requests read whose response has not completed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # An answer's head and body, written by two ASGI messages, leave in one send.
        coalescing = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(coalescing)  # type: ignore[arg-type]
        self._arm(self.limits.header_timeout, self._headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _sending_headers(self) -> bool:
        return self._part == "headers" or (self._part is None and not self._unanswered)

    def _sending_body(self) -> bool:
        return self._part == "body"

    def data_received(self, data: bytes) -> None:
        if self._guard_data(data):
            super().data_received(data)
            self._follow_state()

    def on_message_begin(self) -> None:
        self._part = "headers"
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._part = "body"
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._part = None
        self._unanswered += 1
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._unanswered = max(0, self._unanswered - 1)
        super().on_response_complete()
        self._follow_state()


def guarded_protocol(limits: ClientLimits) -> type[GuardedH11Protocol | GuardedHttpToolsProtocol]:
    base = GuardedHttpToolsProtocol if HTTPTOOLS else GuardedH11Protocol
    return type(base.__name__, (base,), {"limits": limits})


class WorkerH11Protocol(GuardedH11Protocol):
    """The protocol of a `serve --workers N` worker process: a module-level class, so the
    configuration pickles into the spawned workers; each worker sets its limits from its own
    settings when it builds its app (server/workers.py)."""


class WorkerHttpToolsProtocol(GuardedHttpToolsProtocol):
    """:class:`WorkerH11Protocol` over httptools."""


def set_worker_limits(limits: ClientLimits) -> None:
    """In a worker process, before it accepts a connection."""
    WorkerH11Protocol.limits = WorkerHttpToolsProtocol.limits = limits


def _options(settings: Settings) -> dict[str, Any]:
    limits = ClientLimits.from_settings(settings)
    return {
        "ws": "none",
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "log_config": access_log_config(settings.log_level),
        "log_level": settings.log_level,
        "access_log": True,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "server_header": False,
    }


def server_config(app: Any, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """The uvicorn configuration of `plugboard serve`."""
    limits = ClientLimits.from_settings(settings)
    return uvicorn.Config(
        app, host=host, port=port, http=guarded_protocol(limits), **_options(settings)
    )


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with ``workers`` processes on one socket, under uvicorn's supervisor (a worker
    that dies is replaced). Each builds its own app from the environment's settings
    (:func:`plugboard.server.workers.worker_app`), so they must be there already."""
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "plugboard.server.workers:worker_app", factory=True, host=host, port=port,
        workers=workers, http=WorkerHttpToolsProtocol if HTTPTOOLS else WorkerH11Protocol,
        **_options(settings),
    )  # fmt: skip
    Multiprocess(config, sockets=[config.bind_socket()]).run()
