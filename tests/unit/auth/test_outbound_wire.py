"""The async outbound transport (auth/outbound_wire.py) against scripted HTTP/1.1 servers on
127.0.0.1: what it sends, how it reads every framing of an answer, when it reuses a connection
and how it fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from plugboard.auth.outbound_policy import OutboundPolicy
from plugboard.auth.outbound_transport import async_guarded_client, wire_transport
from plugboard.auth.outbound_wire import AsyncWireTransport
from plugboard.auth.outbound_wire_connection import MAX_HEAD_BYTES

pytestmark = pytest.mark.anyio

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
# (request head, n) -> the answer (or its pieces, written apart), or None: close
Script = Callable[[bytes, int], Awaitable[bytes | list[bytes] | None]]


@dataclass
class Server:
    url: str = ""
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    body = b""
    lower = head.lower()
    if b"content-length:" in lower:
        length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
    elif b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    return head, body


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[Server]:
    """A server that answers each request with what ``script`` returns (None: close)."""
    seen = Server()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        try:
            while True:
                head, body = await _read_request(reader)
                seen.heads.append(head)
                seen.bodies.append(body)
                answer = await script(head, len(seen.heads))
                if answer is None:
                    break
                pieces = [answer] if isinstance(answer, bytes) else answer
                for piece in pieces:
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01 if len(pieces) > 1 else 0)
                if b"connection: close" in b"".join(pieces).lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    seen.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield seen
    finally:
        server.close()


def _client(**options: Any) -> httpx2.AsyncClient:
    return async_guarded_client(OutboundPolicy(["127.0.0.0/8"]), timeout=5, **options)


async def _always(answer: bytes) -> Script:
    async def script(head: bytes, n: int) -> bytes:
        return answer

    return script


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_async_client_runs_on_the_wire_transport() -> None:
    client = _client()
    assert isinstance(wire_transport(client), AsyncWireTransport)
    assert wire_transport(httpx2.AsyncClient()) is None
    await client.aclose()


async def test_a_kept_alive_connection_serves_the_next_request() -> None:
    async with scripted(await _always(OK)) as server, _client() as client:
        for _ in range(3):
            assert (await client.get(server.url + "/a")).text == "ok"
    assert server.connections == 1
    assert server.heads[0].startswith(b"GET /a HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in server.heads[0]


async def test_a_chunked_answer_is_read_whole() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    async with scripted(await _always(chunked)) as server, _client() as client:
        assert (await client.get(server.url)).content == b"abcde"
        assert (await client.get(server.url)).content == b"abcde"
    assert server.connections == 1


async def test_an_answer_without_a_length_is_read_until_the_server_closes() -> None:
    async def script(head: bytes, n: int) -> bytes | None:
        return None if n > 1 else b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end"

    async with scripted(script) as server, _client() as client:
        assert (await client.get(server.url)).content == b"until the end"


async def test_a_body_cut_short_is_an_error_not_a_shorter_answer() -> None:
    async def script(head: bytes, n: int) -> bytes:
        return b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\nonly this"

    async with scripted(script) as server, _client() as client:
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.get(server.url)


async def test_a_header_value_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    async with scripted(await _always(OK)) as server, _client() as client:
        with pytest.raises(httpx2.LocalProtocolError) as refused:
            await client.get(server.url, headers={"X-A": "secret-value\r\nX-Injected: 1"})
        assert "secret-value" not in str(refused.value)
    assert server.heads == []


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def script(head: bytes, n: int) -> bytes:
        return b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    async with scripted(script) as server, _client() as client:
        assert (await client.get(server.url)).text == "ok"
        transport = wire_transport(client)
        assert transport is not None
        [[idle]] = transport._idle.values()
        assert idle.transport is not None
        idle.transport.abort()  # as if the server had closed it: noticed before reuse
        await asyncio.sleep(0.05)
        assert (await client.get(server.url)).text == "ok"
    assert server.connections == 2


async def test_an_answer_to_head_has_no_body_and_the_next_request_still_works() -> None:
    async def script(head: bytes, n: int) -> bytes:
        if head.startswith(b"HEAD"):
            return b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"
        return OK

    async with scripted(script) as server, _client() as client:
        answer = await client.head(server.url)
        assert (answer.status_code, answer.content) == (200, b"")
        assert (await client.get(server.url)).text == "ok"


async def test_an_informational_answer_is_skipped_for_the_final_one() -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + OK
    async with scripted(await _always(early)) as server, _client() as client:
        answer = await client.get(server.url)
        assert (answer.status_code, answer.text, answer.headers.get("link")) == (200, "ok", None)


async def test_a_silent_server_is_a_read_timeout() -> None:
    async def script(head: bytes, n: int) -> bytes:
        await asyncio.sleep(2)
        return OK

    async with scripted(script) as server, _client() as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get(server.url, timeout=0.2)


async def test_a_streamed_request_body_is_sent_chunked() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one ", b"two ", b"three"):
            yield part

    async with scripted(await _always(OK)) as server, _client() as client:
        assert (await client.post(server.url, content=parts())).text == "ok"
        assert (await client.post(server.url, content=b"in memory")).text == "ok"
    assert server.bodies == [b"one two three", b"in memory"]
    assert b"transfer-encoding: chunked" in server.heads[0].lower()


async def test_at_the_connection_limit_a_request_waits_for_a_free_connection() -> None:
    async def script(head: bytes, n: int) -> bytes:
        await asyncio.sleep(0.1)
        return OK

    limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    async with scripted(script) as server, _client(limits=limits) as client:
        answers = await asyncio.gather(*(client.get(server.url) for _ in range(3)))
        assert [a.text for a in answers] == ["ok"] * 3
    assert server.connections == 1


async def test_waiting_longer_than_the_pool_timeout_is_a_pool_timeout() -> None:
    async def script(head: bytes, n: int) -> bytes:
        await asyncio.sleep(1)
        return OK

    limits = httpx2.Limits(max_connections=1)
    async with scripted(script) as server, _client(limits=limits) as client:
        first = asyncio.ensure_future(client.get(server.url))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx2.PoolTimeout):
            await client.get(server.url, timeout=httpx2.Timeout(5, pool=0.1))
        assert (await first).text == "ok"


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with scripted(await _always(OK)) as server:
        url = server.url
    async with _client() as client:
        with pytest.raises(httpx2.ConnectError):
            await client.get(url)


# -- framing: nothing a request carries can be read as a second request ------------------------


@pytest.mark.parametrize(
    "framing", [{"Content-Length": "0"}, {"Transfer-Encoding": "chunked"}, {"Content-Length": "99"}]
)
async def test_framing_headers_that_do_not_describe_the_body_are_refused_before_sending(
    framing: dict[str, str],
) -> None:
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    async with scripted(await _always(OK)) as server, _client() as client:
        with pytest.raises(httpx2.LocalProtocolError):
            await client.post(server.url, headers=framing, content=smuggled)
    assert server.heads == []


async def test_a_streamed_body_longer_than_its_length_is_refused_before_the_excess_goes() -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b"hello"
        yield b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

    async with scripted(await _always(OK)) as server, _client() as client:
        with pytest.raises(httpx2.LocalProtocolError):
            await client.post(server.url, headers={"Content-Length": "5"}, content=parts())
        await asyncio.sleep(0.1)
    assert [h.split(b" ", 2)[1] for h in server.heads] == [b"/"]  # never /smuggled


async def test_bytes_after_a_whole_answer_stay_out_of_it_and_end_the_connection() -> None:
    extra = OK + b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nEXTRA"
    async with scripted(await _always(extra)) as server, _client() as client:
        assert (await client.get(server.url)).content == b"ok"
        await asyncio.sleep(0.05)
        assert (await client.get(server.url)).content == b"ok"
    assert server.connections == 2


# -- answers ------------------------------------------------------------------------------------


async def test_an_answer_head_over_the_limit_is_an_error() -> None:
    flood = b"HTTP/1.1 200 OK\r\n" + b"x-filler: " + b"a" * (MAX_HEAD_BYTES + 10) + b"\r\n\r\n"
    async with scripted(await _always(flood)) as server, _client() as client:
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.get(server.url)


async def test_a_reason_phrase_that_arrives_in_pieces_is_whole() -> None:
    pieces = [b"HTTP/1.1 404 Not Fo", b"und\r\ncontent-", b"length: 2\r\n\r\nno"]

    async def script(head: bytes, n: int) -> list[bytes]:
        return pieces

    async with scripted(script) as server, _client() as client:
        answer = await client.get(server.url)
    assert (answer.status_code, answer.reason_phrase, answer.text) == (404, "Not Found", "no")


async def test_a_switch_of_protocols_is_an_error_when_sent() -> None:
    upgrade = (
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"
    )
    async with scripted(await _always(upgrade)) as server, _client() as client:
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.send(client.build_request("GET", server.url), stream=True)


# -- the host as it goes on the wire ------------------------------------------------------------


async def test_an_international_name_is_resolved_and_connected_as_it_is_written_on_the_wire() -> (
    None
):
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    policy = OutboundPolicy(["127.0.0.0/8"], resolver=resolver)
    async with scripted(await _always(OK)) as server:
        port = server.url.rsplit(":", 1)[1]
        async with async_guarded_client(policy, timeout=5) as client:
            assert (await client.get(f"http://straße.test:{port}/")).text == "ok"
    assert set(asked) == {"xn--strae-oqa.test"}  # IDNA 2008; IDNA 2003 would say strasse.test
    assert f"\r\nHost: xn--strae-oqa.test:{port}\r\n".encode() in server.heads[0]


# -- the pool -----------------------------------------------------------------------------------


async def test_a_waiter_cancelled_as_it_is_woken_passes_the_connection_on() -> None:
    limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    async with scripted(await _always(OK)) as server, _client(limits=limits) as client:
        holder = await client.send(client.build_request("GET", server.url), stream=True)
        second = asyncio.ensure_future(client.get(server.url))
        third = asyncio.ensure_future(client.get(server.url))
        await asyncio.sleep(0.05)
        await holder.aread()  # the connection goes back: the second waiter is woken ...
        second.cancel()  # ... and goes away in the same turn
        answer = await asyncio.wait_for(third, 2)
        assert answer.text == "ok" and second.cancelled()


async def test_no_connection_is_kept_alive_when_the_limit_of_kept_ones_is_zero() -> None:
    limits = httpx2.Limits(max_keepalive_connections=0)
    async with scripted(await _always(OK)) as server, _client(limits=limits) as client:
        for _ in range(3):
            assert (await client.get(server.url)).text == "ok"
            await asyncio.sleep(0.01)
    assert server.connections == 3
