"""A server connection's writes in one turn of the event loop leave in one send
(server/write_coalescing.py), over a real socket pair on this machine."""

from __future__ import annotations

import asyncio
import socket

import pytest

from plugboard.server.write_coalescing import GATHER_LIMIT, CoalescingTransport

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _Sends(asyncio.Protocol):
    pass


async def _pair() -> tuple[CoalescingTransport, asyncio.Transport, socket.socket, list[bytes]]:
    """A coalescing transport over one end of a socket pair; what its inner transport was
    asked to write is recorded (the socket sends it too); the other end is returned."""
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(_Sends, ours)
    writes: list[bytes] = []
    real_write = transport.write

    def recording(data: bytes | bytearray | memoryview) -> None:
        writes.append(bytes(data))
        real_write(data)

    transport.write = recording  # type: ignore[method-assign]
    theirs.setblocking(False)
    return CoalescingTransport(transport, loop), transport, theirs, writes


async def _received(peer: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    got = b""
    while len(got) < size:
        chunk = await asyncio.wait_for(loop.sock_recv(peer, 65536), 5)
        if not chunk:
            break
        got += chunk
    return got


async def test_a_head_and_body_written_in_one_turn_leave_in_one_send() -> None:
    coalescing, transport, peer, writes = await _pair()
    coalescing.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    coalescing.write(b"ok")
    assert writes == []  # not before the loop's next turn
    assert await _received(peer, 40) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    assert writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
    coalescing.close()
    peer.close()


async def test_closing_sends_what_waits_first() -> None:
    coalescing, transport, peer, writes = await _pair()
    coalescing.write(b"last words")
    coalescing.close()
    assert writes == [b"last words"]
    assert await _received(peer, 10) == b"last words"
    assert transport.is_closing()
    peer.close()


async def test_aborting_drops_what_waits() -> None:
    coalescing, transport, peer, writes = await _pair()
    coalescing.write(b"never sent")
    coalescing.abort()
    await asyncio.sleep(0.01)
    assert writes == []
    assert await _received(peer, 1) == b""
    peer.close()


async def test_other_calls_reach_the_transport() -> None:
    coalescing, transport, peer, _ = await _pair()
    assert coalescing.get_extra_info("socket") is transport.get_extra_info("socket")
    coalescing.write(b"abc")
    assert coalescing.get_write_buffer_size() == 3
    coalescing.pause_reading()
    assert not transport.is_reading()
    coalescing.close()
    peer.close()


async def test_a_large_write_goes_out_at_once() -> None:
    coalescing, transport, peer, writes = await _pair()
    big = b"x" * GATHER_LIMIT
    coalescing.write(big)
    assert writes == [big]  # not held back from the transport's flow control
    coalescing.abort()
    peer.close()


async def test_small_writes_go_out_as_soon_as_they_add_up_to_the_limit() -> None:
    coalescing, transport, peer, writes = await _pair()
    piece = b"y" * (GATHER_LIMIT // 4)
    for _ in range(3):
        coalescing.write(piece)
    assert writes == []
    coalescing.write(piece)
    assert writes == [piece * 4]
    coalescing.abort()
    peer.close()
