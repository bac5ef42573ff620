"""A server connection's writes made in one turn of the event loop leave in one send.

uvicorn writes an answer's status line and headers as soon as the app sends
``http.response.start``, and its body with the next message: two ``send`` system calls (two
TCP segments on loopback, each waking the client) for every small answer, though the app sent
both in the same step. :class:`CoalescingTransport` sits between uvicorn's protocol and the
socket's transport and gathers what is written until the loop's next turn (``call_soon``):
the head and a small body go out together. Closing (or ``write_eof``) sends what waits first;
an abort drops it, as the transport would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

__all__ = ["CoalescingTransport"]


class CoalescingTransport:
    """Wraps an ``asyncio.Transport``; every other method is the wrapped transport's."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if self._pending is None:
            self._pending = [bytes(data)]
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(bytes(data))

    def writelines(self, lines: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        waiting = sum(len(data) for data in self._pending) if self._pending else 0
        return self._transport.get_write_buffer_size() + waiting

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
