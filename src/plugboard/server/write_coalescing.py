"""A server connection's writes made in one turn of the event loop leave in one send.

uvicorn writes an answer's status line and headers as soon as the app sends
``http.response.start``, and its body with the next message: two ``send`` system calls (two
TCP segments on loopback, each waking the client) for every small answer, though the app sent
both in the same step. :class:`CoalescingTransport` sits between uvicorn's protocol and the
socket's transport and gathers what is written until the loop's next turn (``call_soon``):
the head and a small body go out together. Only small writes wait: what reaches
``GATHER_LIMIT`` goes out at once, so the transport's flow control still sees every large
body. Closing (or ``write_eof``) sends what waits first;
an abort drops it, as the transport would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

__all__ = ["GATHER_LIMIT", "CoalescingTransport"]

# Writes are gathered up to this much; a larger write (or what reaches it) goes out at once.
GATHER_LIMIT = 64 * 1024


class CoalescingTransport:
    """Wraps an ``asyncio.Transport``; every other method is the wrapped transport's."""

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if self._pending is None:
            if len(data) >= GATHER_LIMIT:  # nothing to gather it with: straight out
                self._transport.write(data)
                return
            self._pending = [bytes(data)]
            self._size = len(data)
            self._loop.call_soon(self._flush)
            return
        self._pending.append(bytes(data))
        self._size += len(data)
        if self._size >= GATHER_LIMIT:
            # An app that writes much without yielding would otherwise pile it all up here,
            # out of reach of the transport's flow control (pause_writing): out now.
            self._flush()

    def writelines(self, lines: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        pending, self._pending, self._size = self._pending, None, 0
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._size

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
