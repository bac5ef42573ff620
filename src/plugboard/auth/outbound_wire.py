"""The async outbound client's transport: keep-alive HTTP/1.1 on asyncio protocols, with
llhttp (``httptools``, the parser uvicorn serves with) reading the answers.

Why not httpx2's own transport: httpcore2 drives every request and answer through h11, a
pure-Python state machine, plus its pool's locks and its network-stream layers -- on the proxy
path that was over half of the server's CPU per request. Here one :class:`Connection` is an
``asyncio.Protocol``: the answer is parsed in C as its bytes arrive, and the request is written
in one ``write`` call.

What it keeps from the transport it replaces:

- the outbound guard at connect time: the addresses connected to are the ones the policy
  checked (:meth:`OutboundPolicy.aallowed_addresses`), TLS still verifies and sends SNI for the
  host name, and the pool is keyed by (scheme, host, port) -- never by address;
- httpx2's exceptions (``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``, ``WriteTimeout``,
  ``PoolTimeout``, ``RemoteProtocolError``, ``LocalProtocolError``) and its timeouts per phase;
- a pool with httpx2's limits (``max_connections``, ``max_keepalive_connections``,
  ``keepalive_expiry``): at the limit, an idle connection to another origin is closed to make
  room, or the request waits for one (``pool`` timeout);
- request heads refused when a header could end a line early (CR, LF or NUL anywhere, a name
  that is not a token) -- h11's checks, so a header value can never smuggle a second request;
- request bodies as httpx2 frames them (``Content-Length``, checked, or chunked);
- an answer without a length read until the server closes; a body cut short is an error, never
  a shorter answer.

A keep-alive connection the server closed while it sat idle is noticed before reuse (asyncio
reports the close as it happens); one that closes at the very moment it is reused, before a
byte of the answer, is retried once on a new connection when the request is idempotent and
its body is in memory. Not supported (the caller keeps httpx2's transport for them): HTTP/2,
proxies, unix sockets; a ``101`` upgrade is an error. Answers to ``HEAD`` end the connection's
reuse (llhttp cannot be told that such an answer has no body).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpx2

from plugboard.auth.outbound_policy import OutboundPolicy
from plugboard.auth.outbound_wire_connection import Connection, OriginKey
from plugboard.domain.http_tokens import TOKEN

__all__ = ["AsyncWireTransport", "check_framing", "check_head", "check_name", "head_of"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_TOKEN = re.compile(TOKEN.encode())
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Body(httpx2.AsyncByteStream):
    """The answer's body as httpx2 reads it; the connection goes back to the pool when the body
    was read to its end, and is closed when the reader stops before."""

    __slots__ = ("_conn", "_done", "_timeout", "_transport")

    def __init__(self, transport: AsyncWireTransport, conn: Connection, timeout: float | None):
        self._transport = transport
        self._conn = conn
        self._timeout = timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while not self._done:
            chunk = await conn.read_chunk(self._timeout)
            if not chunk:
                self._done = True
                self._transport._release(conn)
                return
            yield chunk

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            self._transport._discard(self._conn)


def check_name(name: bytes) -> bytes:
    if _TOKEN.fullmatch(name) is None:
        raise httpx2.LocalProtocolError(f"invalid header name {name[:40]!r}")
    return name


def check_head(head: bytes, line_ends: int, method: bytes, target: bytes) -> bytes:
    """``head`` when it holds exactly ``line_ends`` CRLFs and no other CR, LF or NUL, and the
    method is a token and the target has no space: no part can end a line early or smuggle a
    second request. The offending value is not named: it may be a credential."""
    if (
        head.count(b"\n") != line_ends
        or head.count(b"\r") != line_ends
        or b"\x00" in head
        or _TOKEN.fullmatch(method) is None
        or b" " in target
    ):
        raise httpx2.LocalProtocolError("a header value or the target holds CR, LF or NUL")
    return head


def check_framing(headers: httpx2.Headers, content: bytes | None) -> None:
    """Refuse (LocalProtocolError) a request whose framing headers do not describe its body
    exactly -- a body in memory with exactly its own Content-Length (or none when empty) and no
    Transfer-Encoding; a streamed body with one Content-Length or ``Transfer-Encoding: chunked``,
    not both. Anything else would let the body be read as a second request (smuggling)."""
    lengths = headers.get_list("content-length")
    codings = headers.get_list("transfer-encoding")
    if content is not None:
        declared = [value.strip() for value in lengths]
        if codings or len(lengths) > 1 or (declared or ["0"])[0] != str(len(content)):
            raise httpx2.LocalProtocolError(
                "the request's Content-Length or Transfer-Encoding does not match its body"
            )
        return
    if codings:
        if lengths or [c.strip().lower() for c in codings] != ["chunked"]:
            raise httpx2.LocalProtocolError(
                "a streamed request body is sent chunked or with one Content-Length"
            )
    elif len(lengths) != 1 or not lengths[0].strip().isdigit():
        raise httpx2.LocalProtocolError("a streamed request body needs a Content-Length")


def head_of(request: httpx2.Request) -> bytes:
    """The request line and headers (see :func:`check_head`)."""
    method = request.method.encode("ascii")
    target = request.url.raw_path
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    headers = request.headers.raw
    for name, value in headers:
        parts += (check_name(name), b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return check_head(b"".join(parts), len(headers) + 2, method, target)


def _timeouts(request: httpx2.Request) -> dict[str, float | None]:
    timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
    return timeouts


class AsyncWireTransport(httpx2.AsyncBaseTransport):
    """HTTP/1.1 to the addresses ``policy`` allows; see the module docstring."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx2.Limits | None = None,
    ) -> None:
        limits = limits or httpx2.Limits()
        self._policy = policy
        context = (
            verify if isinstance(verify, ssl.SSLContext) else httpx2.create_ssl_context(verify)
        )
        context.set_alpn_protocols(["http/1.1"])
        self._ssl = context
        self._max = limits.max_connections or 1_000_000
        kept = limits.max_keepalive_connections
        self._max_idle = self._max if kept is None else kept
        expiry = limits.keepalive_expiry
        self._expiry = float("inf") if expiry is None else expiry
        self._idle: dict[OriginKey, list[Connection]] = {}
        self._open = 0
        self._pool_waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx2.UnsupportedProtocol(f"unsupported scheme {scheme!r}", request=request)
        # The host as it goes on the wire (IDNA 2008, as in Host): resolved, checked, connected
        # and named in SNI in that form -- Python's own encoding of a Unicode name (IDNA 2003)
        # can name another domain (straße.de is xn--strae-oqa.de, not strasse.de).
        key = (scheme, url.raw_host.decode("ascii"), url.port or _DEFAULT_PORTS[scheme])
        try:
            content: bytes | None = request.content
        except httpx2.RequestNotRead:
            content = None
        check_framing(request.headers, content)
        return await self.send_head(key, head_of(request), content, _timeouts(request), request)

    async def send_head(
        self,
        key: OriginKey,
        head: bytes,
        content: bytes | None,
        timeouts: dict[str, float | None],
        request: httpx2.Request,
    ) -> httpx2.Response:
        """Send a request whose head is already encoded and checked (:func:`check_head`) to
        the origin ``key``; ``content`` None means ``request.stream`` is the body. The answer
        is unread (its body streams from the connection)."""
        retry = content is not None and request.method in _IDEMPOTENT
        while True:
            conn, reused = await self._acquire(key, timeouts)
            try:
                await self._exchange(conn, request, head, content, timeouts)
            except httpx2.RemoteProtocolError:
                stale = reused and retry and not conn.received
                self._discard(conn)
                if stale:
                    retry = False
                    continue
                raise
            except BaseException:
                self._discard(conn)
                raise
            break
        return httpx2.Response(
            conn.status,
            headers=conn.headers,
            stream=_Body(self, conn, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": conn.reason},
            request=request,
        )

    async def _exchange(
        self,
        conn: Connection,
        request: httpx2.Request,
        head: bytes,
        content: bytes | None,
        timeouts: dict[str, float | None],
    ) -> None:
        conn.start(head_only=request.method == "HEAD")
        transport = conn.transport
        assert transport is not None
        if content is not None:
            transport.write(head + content if len(content) < 16384 else head)
            if len(content) >= 16384:
                transport.write(content)
        else:
            transport.write(head)
            await self._stream_body(conn, request, timeouts.get("write"))
        await conn.drain(timeouts.get("write"))
        await conn.read_head(timeouts.get("read"))

    async def _stream_body(
        self, conn: Connection, request: httpx2.Request, timeout: float | None
    ) -> None:
        transport = conn.transport
        assert transport is not None
        chunked = "transfer-encoding" in request.headers  # check_framing: chunked, or a length
        length = None if chunked else int(request.headers["content-length"])
        sent = 0
        stream = request.stream
        assert isinstance(stream, httpx2.AsyncByteStream)
        async for chunk in stream:
            if conn.closed:
                return  # the server ended it early; its answer (or the close) is what counts
            if not chunk:
                continue
            if length is not None and sent + len(chunk) > length:
                # Refused before a byte past the declared length is written: those bytes would
                # be read by the server as the next request on the connection.
                raise httpx2.LocalProtocolError(
                    f"the request body is longer than its Content-Length ({length})"
                )
            sent += len(chunk)
            if chunked:
                transport.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
            else:
                transport.write(chunk)
            await conn.drain(timeout)
        if chunked:
            transport.write(b"0\r\n\r\n")
        elif length is not None and sent != length:
            raise httpx2.LocalProtocolError(
                f"the request body was {sent} bytes, its Content-Length says {length}"
            )

    # -- the pool ----------------------------------------------------------------------------

    async def _acquire(
        self, key: OriginKey, timeouts: dict[str, float | None]
    ) -> tuple[Connection, bool]:
        loop = asyncio.get_running_loop()
        while True:
            idle = self._idle.get(key)
            now = loop.time()
            while idle:
                conn = idle.pop()
                if not conn.closed and now - conn.idle_since <= self._expiry:
                    return conn, True
                self._forget(conn)
            # None of this origin's is idle: open one if there is room (closing another
            # origin's idle connection makes room), else wait for a connection to come back.
            if self._open < self._max or self._close_an_idle():
                break
            await self._wait_for_room(loop, timeouts.get("pool"))
        self._open += 1
        try:
            return await self._connect(loop, key, timeouts.get("connect")), False
        except BaseException:
            self._open -= 1
            self._wake_pool()
            raise

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, key: OriginKey, timeout: float | None
    ) -> Connection:
        scheme, host, port = key
        addresses = await self._policy.aallowed_addresses(host, port)
        tls = scheme == "https"
        error: Exception = httpx2.ConnectError(f"no address to connect to for {host}")
        for ip in addresses:
            try:
                opening = loop.create_connection(
                    lambda: Connection(loop, key),
                    str(ip),
                    port,
                    ssl=self._ssl if tls else None,
                    server_hostname=host if tls else None,
                )
                _, conn = await asyncio.wait_for(opening, timeout)
                return conn
            except TimeoutError:
                error = httpx2.ConnectTimeout(f"timed out connecting to {host}:{port}")
            except OSError as exc:  # refused, unreachable, TLS verification (ssl.SSLError)
                error = httpx2.ConnectError(str(exc) or type(exc).__name__)
        raise error

    def _close_an_idle(self) -> bool:
        """Make room at the limit by closing the longest-idle connection, if any is idle."""
        oldest: Connection | None = None
        for conns in self._idle.values():
            if conns and (oldest is None or conns[0].idle_since < oldest.idle_since):
                oldest = conns[0]
        if oldest is None:
            return False
        self._idle[oldest.key].remove(oldest)
        self._forget(oldest)
        return True

    async def _wait_for_room(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> None:
        room: asyncio.Future[None] = loop.create_future()
        self._pool_waiters.append(room)
        try:
            async with asyncio.timeout(timeout):
                await room
        except BaseException as exc:
            if room.done() and not room.cancelled():
                # Woken, but leaving (cancelled, or timed out in the same turn): the room it
                # was given goes to the next waiter, or that one would wait for nothing.
                self._wake_pool()
            if isinstance(exc, TimeoutError):
                raise httpx2.PoolTimeout(
                    "timed out waiting for a connection from the pool"
                ) from None
            raise
        finally:
            if room in self._pool_waiters:
                self._pool_waiters.remove(room)

    def _wake_pool(self) -> None:
        while self._pool_waiters:
            room = self._pool_waiters.popleft()
            if not room.done():
                room.set_result(None)
                return

    def _release(self, conn: Connection) -> None:
        """The answer was read to its end: keep the connection for the next request if it may
        be kept."""
        conn.finish()
        if self._closed or conn.closed or not conn.keep_alive:
            self._forget(conn)
            return
        idle = self._idle.setdefault(conn.key, [])
        if sum(len(c) for c in self._idle.values()) >= self._max_idle:
            self._forget(conn)
            return
        conn.idle_since = conn.loop.time()
        idle.append(conn)
        self._wake_pool()

    def _discard(self, conn: Connection) -> None:
        conn.finish()
        self._forget(conn)

    def _forget(self, conn: Connection) -> None:
        conn.close()
        self._open -= 1
        self._wake_pool()

    async def aclose(self) -> None:
        self._closed = True
        closing = [conn for conns in self._idle.values() for conn in conns]
        self._idle.clear()
        for conn in closing:
            self._forget(conn)
        # The sockets close on the loop's next turns: wait for them (bounded), so a loop that
        # ends right after (asyncio.run) leaves none open.
        lost = [conn.lost for conn in closing if not conn.lost.done()]
        if lost:
            await asyncio.wait(lost, timeout=1.0)

    def __repr__(self) -> str:
        return f"AsyncWireTransport(open={self._open})"


def wire_options_supported(options: dict[str, Any]) -> bool:
    """Whether the transport options can be served here (else httpx2's transport serves them)."""
    return set(options) <= {"verify", "limits"}
