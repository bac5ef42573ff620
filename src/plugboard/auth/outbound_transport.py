"""Where the outbound policy (:mod:`plugboard.auth.outbound_policy`) is enforced.

Where the check happens
-----------------------
:class:`GuardedTransport` / :class:`AsyncGuardedTransport` wrap any httpx2 transport and check the
request before handing it on, so a refused request never reaches the inner transport (no
connection is attempted). That check resolves the name itself; the inner transport would
resolve it again when it connects, which leaves a DNS-rebinding window (a name that answers a
public address to the check and 127.0.0.1 to the connect). :func:`guarded_http_transport`
closes it: it installs a network backend in httpx2's connection pool that resolves, checks and
connects to the *checked* address in one step, while TLS still uses the original host name for
SNI and certificate verification and the pool stays keyed by host name. (Rewriting the URL to the
IP and passing ``sni_hostname`` was rejected: the pool would then key connections by IP and
could reuse a TLS session made for one host for a request to another host on the same address.)
The backend is installed through httpx2's private ``_pool`` attribute; a test fails if that
stops working. Both checks take the policy's remembered answer when it has one (a literal
address, or a name checked within ``PLUGBOARD_DNS_CACHE_SECONDS``): the addresses connected to
are still the very addresses that were checked, and the async transport then needs no worker
thread. Residual risks: connections through a proxy (the guarded transport has none)
are not covered; a keep-alive connection is checked once, when it is opened.

Redirects
---------
httpx2 re-sends custom headers (an API key header, for instance) on a redirect to another host,
so :func:`guarded_client` never follows redirects: a 3xx is returned to the caller, who decides
(invoke returns it as is). Every hop a caller does follow goes through the guard again.
"""

from __future__ import annotations

from collections.abc import Iterable
from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpcore2
import httpx2

from plugboard.auth.log_redaction import install_secret_log_filters
from plugboard.auth.outbound_policy import OutboundPolicy
from plugboard.auth.outbound_wire import AsyncWireTransport, wire_options_supported
from plugboard.errors import ConfigurationError, OutboundBlocked

__all__ = [
    "AsyncGuardedTransport",
    "GuardedTransport",
    "async_guarded_client",
    "async_guarded_http_transport",
    "guarded_client",
    "guarded_http_transport",
]


class GuardedTransport(httpx2.BaseTransport):
    """Checks every request against the policy before the inner transport sees it."""

    def __init__(self, inner: httpx2.BaseTransport, policy: OutboundPolicy) -> None:
        self._inner = inner
        self._policy = policy

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self._policy.check_url(request.url)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class AsyncGuardedTransport(httpx2.AsyncBaseTransport):
    """The async :class:`GuardedTransport`; a name resolution (when the policy does not
    remember the name's checked addresses) runs in a worker thread."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, policy: OutboundPolicy) -> None:
        self._inner = inner
        self._policy = policy

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await self._policy.acheck_url(request.url)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    @property
    def wire(self) -> AsyncWireTransport | None:
        """The wire transport behind the guard, when it is one."""
        return self._inner if isinstance(self._inner, AsyncWireTransport) else None


# --- connect-time check: the network backend inside httpx2's connection pool -----------------


class _GuardedBackend(httpcore2.NetworkBackend):
    def __init__(self, inner: httpcore2.NetworkBackend, policy: OutboundPolicy) -> None:
        self._inner = inner
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        addresses = self._policy.allowed_addresses(host, port)
        error: Exception | None = None
        for ip in addresses:
            try:
                return self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        raise OutboundBlocked("outbound request refused: unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncGuardedBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self, inner: httpcore2.AsyncNetworkBackend, policy: OutboundPolicy) -> None:
        self._inner = inner
        self._policy = policy

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        addresses = await self._policy.aallowed_addresses(host, port)
        error: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise OutboundBlocked("outbound request refused: unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_http_transport(policy: OutboundPolicy, **options: Any) -> GuardedTransport:
    """An ``httpx2.HTTPTransport`` checked before sending and again at connect time.

    ``options`` go to ``httpx2.HTTPTransport`` (``verify``, ``http2``, ``retries`` ...);
    ``proxy`` and ``uds`` are refused, since the connect-time check could not see the target.
    """
    if options.get("proxy") is not None or options.get("uds") is not None:
        raise ConfigurationError("a guarded transport cannot use a proxy or a unix socket")
    inner = httpx2.HTTPTransport(**options)
    pool = inner._pool
    if not isinstance(pool, httpcore2.ConnectionPool):  # pragma: no cover - httpx2 changed
        raise ConfigurationError("httpx2's transport has no connection pool to guard")
    pool._network_backend = _GuardedBackend(pool._network_backend, policy)
    return GuardedTransport(inner, policy)


def async_guarded_http_transport(policy: OutboundPolicy, **options: Any) -> AsyncGuardedTransport:
    """The async :func:`guarded_http_transport`: on :class:`AsyncWireTransport` (asyncio and
    llhttp, checked at connect time the same way) unless an option needs httpx2's own."""
    if options.get("proxy") is not None or options.get("uds") is not None:
        raise ConfigurationError("a guarded transport cannot use a proxy or a unix socket")
    if wire_options_supported(options):
        return AsyncGuardedTransport(AsyncWireTransport(policy, **options), policy)
    inner = httpx2.AsyncHTTPTransport(**options)
    pool = inner._pool
    if not isinstance(pool, httpcore2.AsyncConnectionPool):  # pragma: no cover - httpx2 changed
        raise ConfigurationError("httpx2's transport has no connection pool to guard")
    pool._network_backend = _AsyncGuardedBackend(pool._network_backend, policy)
    return AsyncGuardedTransport(inner, policy)


class _NoCookieJar(CookieJar):
    """Keeps no cookie. The outbound clients are shared by every caller of a process (the
    proxy's and invoke's clients serve all workspaces): a cookie kept from one caller's answer
    would go with the next caller's request to that host -- someone else's upstream session.
    Invoke reports an answer's cookies to its caller; the caller decides what to send."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


def guarded_client(
    policy: OutboundPolicy,
    *,
    auth: httpx2.Auth | None = None,
    timeout: float = 30.0,
    **transport_options: Any,
) -> httpx2.Client:
    """A client that only reaches allowed addresses, never follows redirects by itself and
    keeps no cookies (see :class:`_NoCookieJar`)."""
    install_secret_log_filters()
    return httpx2.Client(
        auth=auth,
        timeout=timeout,
        cookies=_NoCookieJar(),
        follow_redirects=False,
        trust_env=False,
        transport=guarded_http_transport(policy, **transport_options),
    )


def async_guarded_client(
    policy: OutboundPolicy,
    *,
    auth: httpx2.Auth | None = None,
    timeout: float = 30.0,
    **transport_options: Any,
) -> httpx2.AsyncClient:
    """The async :func:`guarded_client`."""
    install_secret_log_filters()
    return httpx2.AsyncClient(
        auth=auth,
        timeout=timeout,
        cookies=_NoCookieJar(),
        follow_redirects=False,
        trust_env=False,
        transport=async_guarded_http_transport(policy, **transport_options),
    )


def wire_transport(client: httpx2.AsyncClient) -> AsyncWireTransport | None:
    """The wire transport of a client made by :func:`async_guarded_client` (None for any other
    client). Reads httpx2's private ``_transport``: a test fails if that stops working."""
    transport = getattr(client, "_transport", None)
    return transport.wire if isinstance(transport, AsyncGuardedTransport) else None
