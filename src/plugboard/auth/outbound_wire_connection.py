"""One connection of the outbound wire transport (:mod:`plugboard.auth.outbound_wire`): an
``asyncio.Protocol`` that llhttp (``httptools``) reads answers for, one exchange at a time.

The parser's callbacks collect the answer's status, headers and body chunks as the bytes
arrive; the transport's coroutines wait on one future per wait (woken by the callbacks, or
by a timer for the timeout). Reading pauses while more than ``_HIGH_WATER`` bytes of an answer
wait for the reader.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

import httptools
import httpx2

__all__ = ["Connection", "OriginKey"]

# Reading pauses while this much of an answer waits for the caller, and resumes below a quarter.
_HIGH_WATER = 256 * 1024
# An answer's status line and headers may take at most this much (h11's limit, as httpx2's).
MAX_HEAD_BYTES = 100 * 1024

OriginKey = tuple[str, str, int]  # (scheme, host, port): the pool's key, never an address


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, one request at a time; llhttp calls the ``on_*`` methods
    while :meth:`data_received` feeds it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, key: OriginKey) -> None:
        self.loop = loop
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[bool] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._parser: httptools.HttpResponseParser | None = None
        self.lost: asyncio.Future[None] = loop.create_future()  # done once the socket closed
        self._begin(head_only=False)

    # -- one exchange ------------------------------------------------------------------------

    def _begin(self, *, head_only: bool) -> None:
        self.status = 0
        self.reason = b""
        self.head_bytes = 0  # bytes received while the head is incomplete (a head never ending)
        self.head_size = 0  # the head's status line and headers, as parsed
        self.headers: list[tuple[bytes, bytes]] = []
        self.head = self.complete = self.keep_alive = self.received = False
        self.until_eof = False
        self.head_only = head_only
        self.error: Exception | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self._informational = False

    def start(self, *, head_only: bool) -> None:
        self._begin(head_only=head_only)
        self._parser = httptools.HttpResponseParser(self)

    def finish(self) -> None:
        self._parser = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # -- asyncio's callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # bytes while idle: nothing was asked, the connection is not sane
            self.close()
            return
        if self.complete:  # bytes after the whole answer: not a connection to reuse
            self.keep_alive = False
            self.close()
            return
        self.received = True
        if not self.head:
            self.head_bytes += len(data)
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail("the server switched protocols (upgrade): not supported")
        except httptools.HttpParserError as exc:
            self._fail(f"invalid HTTP answer: {exc}")
        if not self.head and self.head_bytes > MAX_HEAD_BYTES and self.error is None:
            self._fail(f"the answer's head is over {MAX_HEAD_BYTES} bytes")
        if self.buffered > _HIGH_WATER and not self._reading_paused and not self.closed:
            assert self.transport is not None
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def _fail(self, why: str) -> None:
        """The connection is closed; the answer fails unless it was already whole (what
        follows a whole answer only makes the connection unfit for reuse)."""
        self.keep_alive = False
        if not self.complete:
            self.error = httpx2.RemoteProtocolError(why)
        self.close()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(None)
        if self.until_eof and self.head and not self.complete and self.error is None:
            self.complete = True  # an answer without a length ends with the connection
        self._wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # -- llhttp's callbacks ------------------------------------------------------------------

    # llhttp goes on parsing what follows a whole answer (as the next one): once the answer is
    # complete, the callbacks ignore it (data_received then closes the connection).

    def on_status(self, status: bytes) -> None:
        if not self.complete:
            self.reason += status  # called once per piece when the line arrives in pieces
            self.head_size += len(status)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:
            self.headers.append((name, value))
            self.head_size += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        if self.complete:
            self.keep_alive = False
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # 100 Continue, 103 Early Hints: not the answer
            self._informational = True
            self.headers = []
            self.reason = b""
            self.head_size = 0
            return
        if self.head_size > MAX_HEAD_BYTES:
            self.error = httpx2.RemoteProtocolError(
                f"the answer's head is over {MAX_HEAD_BYTES} bytes"
            )
            self.keep_alive = False
            return
        if status == 101:  # an upgrade: the connection would no longer speak HTTP
            self.error = httpx2.RemoteProtocolError("the server switched protocols: not supported")
            self.keep_alive = False
            return
        self.status = status
        self.head = True
        self.keep_alive = self._parser.should_keep_alive() and not self.head_only
        if self.head_only:
            self.complete = True
        elif status not in (204, 304):
            framed = any(
                n.lower() in (b"content-length", b"transfer-encoding") for n, _ in self.headers
            )
            self.until_eof = not framed

    def on_body(self, body: bytes) -> None:
        if not self.head_only and not self.complete:
            self.chunks.append(body)
            self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if self.complete:
            self.keep_alive = False
            return
        self.complete = True

    # -- waiting -----------------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    async def _wait(self, timeout: float | None) -> bool:
        """Wait for the next event on the connection: False when ``timeout`` passed first."""
        waiter: asyncio.Future[bool] = self.loop.create_future()
        self._waiter = waiter
        timer = None if timeout is None else self.loop.call_later(timeout, _expire, waiter)
        try:
            return await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def drain(self, timeout: float | None) -> None:
        writable = self._writable
        if writable is None or writable.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(writable), timeout)
        except TimeoutError:
            raise httpx2.WriteTimeout("timed out sending the request") from None

    async def read_head(self, timeout: float | None) -> None:
        while not self.head:
            if self.error is not None:
                raise self.error
            if self.closed:
                raise httpx2.RemoteProtocolError(
                    "the server closed the connection without answering"
                )
            if not await self._wait(timeout):
                raise httpx2.ReadTimeout("timed out waiting for the answer")

    async def read_chunk(self, timeout: float | None) -> bytes:
        """The answer's next bytes; ``b""`` once it is complete."""
        while True:
            if self.chunks:
                chunk = self.chunks.popleft() if len(self.chunks) == 1 else b"".join(self.chunks)
                self.chunks.clear()
                self.buffered = 0
                if self._reading_paused and not self.closed:
                    assert self.transport is not None
                    self.transport.resume_reading()
                    self._reading_paused = False
                return chunk
            if self.error is not None:
                raise self.error
            if self.complete:
                return b""
            if self.closed:
                raise httpx2.RemoteProtocolError(
                    "the server closed the connection before the whole answer"
                )
            if not await self._wait(timeout):
                raise httpx2.ReadTimeout("timed out reading the answer")
