"""invoke: send a request to a third-party API with a connection's credential (SPEC §7).

1. :func:`resolve` finds the connection in the caller's workspace and the authorization that
   serves the environment: the shared one for admin and system connections; for user-level
   connections the calling user's own, or the primary account when no user is present. No
   usable authorization raises AuthorizationRequired saying who must act. The permission
   matrix decides first: an admin or system connection hidden from the role is NotFound (as
   on GET), and another user's authorization (or the primary) takes ``invoke_for_users``.
2. ``{dynamic}`` placeholders in the URL are replaced by the connection's values
   (:func:`plugboard.domain.urls.substitute`, which never lets a value change the host). A URL
   that starts with ``/`` is taken relative to the service's base URL.
3. The credential is injected by the auth type's ``httpx2.Auth`` (plugboard.auth); OAuth 2
   tokens refresh before expiry and once on rejection (usecases.refresh).
4. The request leaves through the outbound guard (``PLUGBOARD_OUTBOUND_ALLOWLIST``), with a
   timeout, without following redirects; idempotent methods are retried on connection errors,
   429 and 503 (auth.retry).

:meth:`Invoker.astream` is the streaming form the HTTP proxy uses: the request body may be an
async stream and the response is handed over unread (``async with invoker.astream(...) as r``).
A request can only be sent again when its body is in memory, so the rule is: a body of at most
:data:`REPLAY_LIMIT` bytes (64 KiB) is read first (:func:`replayable_body`) and then behaves as
in :meth:`Invoker.invoke` (OAuth 2 refresh-and-retry on a 401, retries of idempotent methods);
a larger body is streamed through and sent exactly once -- an OAuth 2 token about to expire is
still refreshed before the send, but a rejection is returned to the caller as is. (OAuth 1 and
SigV4 sign the body, and an API key in a form body rewrites it: those read it into memory.)

Every invoke that raises is written to the audit log (action ``connection.invoke``, outcome
``failed``) with the connection, environment, method, host and path -- never the query string,
headers or body, which may carry secrets.

:class:`Invoker` is the engine of one process: its HTTP clients keep connections alive between
invokes, and it keeps each resolution for ``invoke_cache_seconds`` (default 1 s), so a hot loop
of invokes does not read the store every time; one store read per key is in flight at a time.
A refresh made in this process drops the cached entries of the account at once, and so does a
revocation or any other change of an authorization, connection or app made in this process
(:mod:`~plugboard.usecases.invoke_invalidation`); one made elsewhere is seen within that many
seconds. An invoke with no headers, parameters or body (the hot loop) reuses what its URL needs
prepared once per resolution (:class:`~plugboard.usecases.invoke_requests.Plan`).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2

from plugboard.auth.log_redaction import install_secret_log_filters
from plugboard.auth.oauth2 import OAuth2Auth
from plugboard.auth.outbound import Resolver
from plugboard.auth.outbound_stack import Outbound
from plugboard.auth.outbound_transport import wire_transport
from plugboard.auth.retry import RetryPolicy, asend_with_retries, send_with_retries
from plugboard.domain.principal import Principal
from plugboard.domain.urls import check_request_url
from plugboard.usecases.connection_auth import ConnectionAuth
from plugboard.usecases.invoke_audit import InvokeCall, aaudited, audited
from plugboard.usecases.invoke_cache import Entry, ResolutionCache
from plugboard.usecases.invoke_entries import Resolutions
from plugboard.usecases.invoke_lane import Lanes, lane_credential
from plugboard.usecases.invoke_loop import LoopThread
from plugboard.usecases.invoke_requests import (
    REPLAY_LIMIT,
    build_request,
    check_headers,
    replayable_body,
    request_options,
    retry_policy,
    timeout_extension,
)
from plugboard.usecases.invoke_resolution import Resolved, resolve
from plugboard.usecases.invoke_targets import checked_request_url, stream_target
from plugboard.usecases.refresh import RefreshCoordinator
from plugboard.usecases.runtime import Runtime

__all__ = [
    "REPLAY_LIMIT",
    "ConnectionAuth",
    "Invoker",
    "Resolved",
    "replayable_body",
    "resolve",
]


log = logging.getLogger("plugboard.invoke")
T = TypeVar("T")
_POOL = httpx2.Limits(max_connections=100, max_keepalive_connections=100)

# --- the engine ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Send:
    auth: httpx2.Auth
    policy: RetryPolicy
    options: dict[str, Any]


class Invoker(Resolutions):
    """Resolution cache, outbound clients and refresh coordinator of one process (the
    resolution methods -- ``entry``, ``forget_account``, ``forget_all``, ``auth_for``,
    ``check_target`` -- are :class:`~plugboard.usecases.invoke_entries.Resolutions`')."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """The outbound policy is the settings' allowlist; ``resolver`` replaces the system's
        name resolution (the guard connects to what it returns) and ``verify`` is the TLS trust
        for every outbound request (True: the system's CA bundle)."""
        # pb.auth() hands credentials to the app's own httpx2 clients: their logs too.
        install_secret_log_filters()
        self.runtime = runtime
        settings = runtime.settings
        self.outbound = (
            runtime.outbound
            if resolver is None and verify is True
            else Outbound(
                settings.outbound_allowlist_entries,
                resolver=resolver,
                verify=verify,
                dns_cache_seconds=settings.dns_cache_seconds,
            )
        )
        self.policy = self.outbound.policy
        self._timeout = settings.invoke_timeout_seconds
        self._client = self.outbound.client(timeout=self._timeout)
        self._async_clients: dict[asyncio.AbstractEventLoop, httpx2.AsyncClient] = {}
        self._lanes: dict[httpx2.AsyncClient, Lanes] = {}  # per async client on the wire
        self._loop_thread = LoopThread("plugboard-invoke-loop")
        self.refresher = RefreshCoordinator(
            runtime, self.outbound, on_refreshed=self.forget_account
        )
        self._cache = ResolutionCache()
        self._timeouts: dict[float, dict[str, Any]] = {}
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP clients. Async clients of loops that still run must be closed with
        :meth:`aclose` from inside their loop first."""
        if self._closed:
            return
        self._closed = True
        self._loop_thread.close(self.aclose)
        self._client.close()
        self.refresher.close()
        for loop, client in list(self._async_clients.items()):
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(client.aclose())
        self._async_clients.clear()
        self._lanes.clear()

    def run_async(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` (which invokes with :meth:`ainvoke`) for a blocking caller, on
        this invoker's own loop: its connections stay alive from one call to the next."""
        return self._loop_thread.run(coroutine)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        client = self._async_clients.pop(loop, None)
        if client is not None:
            self._lanes.pop(client, None)
            await client.aclose()

    def _async_client(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            # Keep alive as many connections as the pool opens: with httpx2's default (20 of
            # 100) every burst of more than 20 concurrent requests (the proxy's callers)
            # reconnects the rest.
            client = self.outbound.async_client(timeout=self._timeout, limits=_POOL)
            self._async_clients[loop] = client
            wire = wire_transport(client)
            if wire is not None:
                self._lanes[client] = Lanes(wire, client.headers)
        return client

    # -- invoke -------------------------------------------------------------------------------

    def invoke(
        self,
        actor: Principal,
        url: str,
        method: str = "GET",
        *,
        connection: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        json: Any = None,
        environment: str | None = None,
        as_user: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_seconds: float | None = None,
        workspace: str | None = None,
    ) -> httpx2.Response:
        """SPEC §7. Returns the upstream response (any status); raises PlugboardError."""
        call = InvokeCall(actor, connection, environment, as_user, workspace, method.upper(), url)
        with audited(self.runtime, call):
            checked_request_url(url)
            found = self.entry(
                actor, connection, environment=environment, as_user=as_user, workspace=workspace
            )
            client = self._client
            if headers is None and params is None and data is None and json is None:
                plan = self._plan(found, url, max_attempts, max_retry_seconds)
                call.target = plan.target
                extensions = self._timeout_extension(timeout)
                method = call.method

                def planned() -> httpx2.Response:
                    request = plan.request(method, client.cookies, extensions)
                    if plan.oauth2 is not None:  # the token checked, a 401 refreshed once
                        return plan.oauth2.send_with(request, client.send, applied=plan.applied)
                    return client.send(request, auth=plan.auth)

                return send_with_retries(planned, method, plan.policy)
            send = self._prepare(
                call, found, headers, params, data, json, timeout, max_attempts, max_retry_seconds
            )

            def attempt() -> httpx2.Response:
                request = build_request(client, call.method, call.target, send.options)
                return client.send(request, auth=send.auth)

            return send_with_retries(attempt, call.method, send.policy)
        raise AssertionError("unreachable: audited re-raises")  # pragma: no cover

    async def ainvoke(
        self,
        actor: Principal,
        url: str,
        method: str = "GET",
        *,
        connection: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        json: Any = None,
        environment: str | None = None,
        as_user: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_seconds: float | None = None,
        workspace: str | None = None,
    ) -> httpx2.Response:
        """:meth:`invoke` for asyncio: store reads run in a worker thread."""
        call = InvokeCall(actor, connection, environment, as_user, workspace, method.upper(), url)
        async with aaudited(self.runtime, call):
            check_request_url(url)
            found = await self._aentry(call)
            client = self._async_client()
            if headers is None and params is None and data is None and json is None:
                plan = self._plan(found, url, max_attempts, max_retry_seconds)
                call.target = plan.target
                extensions = self._timeout_extension(timeout)
                method = call.method

                async def planned() -> httpx2.Response:
                    if plan.oauth2 is not None:
                        request, token = plan.oauth2_request(method, client.cookies, extensions)
                        return await plan.oauth2.asend_with(request, client.send, applied=token)
                    return await client.send(
                        plan.request(method, client.cookies, extensions), auth=plan.auth
                    )

                return await asend_with_retries(planned, method, plan.policy)
            send = self._prepare(
                call, found, headers, params, data, json, timeout, max_attempts, max_retry_seconds
            )

            async def attempt() -> httpx2.Response:
                request = build_request(client, call.method, call.target, send.options)
                return await client.send(request, auth=send.auth)

            return await asend_with_retries(attempt, call.method, send.policy)
        raise AssertionError("unreachable: aaudited re-raises")  # pragma: no cover

    @asynccontextmanager
    async def astream(
        self,
        actor: Principal,
        url: str,
        method: str = "GET",
        *,
        connection: str,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        base_url: str | None = None,
        environment: str | None = None,
        as_user: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_seconds: float | None = None,
        workspace: str | None = None,
    ) -> AsyncIterator[httpx2.Response]:
        """Send a request with the connection's credential and yield the upstream response
        unread (``aiter_raw``/``aiter_bytes`` it; it is closed when the block ends).

        ``url`` is a full URL or, starting with ``/``, a path (and query) appended to
        ``base_url`` or else to the service's base URL; ``{dynamic}`` placeholders are filled
        as :meth:`invoke` fills them (:func:`~plugboard.usecases.invoke_targets.fill_placeholders`).
        ``content`` is bytes (sent again when needed, retried as ``max_attempts`` and
        ``max_retry_seconds`` allow) or an async stream (sent once; see
        :func:`replayable_body` and the module docstring). Raises like :meth:`ainvoke`.
        """
        call = InvokeCall(actor, connection, environment, as_user, workspace, method.upper(), url)
        async with aaudited(self.runtime, call):
            check_request_url(url)
            found = await self._aentry(call)
            call.target, policy = self._stream_plan(
                found, url, base_url, max_attempts, max_retry_seconds
            )
            auth = found.auth
            if not (content is None or isinstance(content, bytes)):
                # a stream is sent once (see the module docstring)
                policy = RetryPolicy(max_attempts=1)
                if isinstance(auth, OAuth2Auth):
                    auth = auth.without_replay()
            check_headers(headers)
            client = self._async_client()
            lanes = self._lanes.get(client)
            credential = lane_credential(auth, content) if lanes is not None else None
            if lanes is not None and credential is not None:
                # The pass-through lane (usecases/invoke_lane.py): no httpx2 client machinery.
                lane = lanes.target(call.target)
                body = content if isinstance(content, bytes) else None
                head = lanes.head(call.method, lane, headers, credential, body)
                named = lanes.request(call.method, call.target, lane)
                timeouts = self._timeout_extension(timeout)["timeout"]
                sent = body or b""  # in memory: sent with the head, and sent again on a retry

                async def attempt() -> httpx2.Response:
                    await self.policy.acheck_url(lane.url)
                    return await lanes.wire.send_head(lane.key, head, sent, timeouts, named)

            else:
                options = {"headers": headers, "content": content,
                           "timeout": timeout or self._timeout}  # fmt: skip

                async def attempt() -> httpx2.Response:
                    request = build_request(client, call.method, call.target, options)
                    return await client.send(request, auth=auth, stream=True)

            response = await asend_with_retries(attempt, call.method, policy)
        try:
            yield response
        finally:
            await response.aclose()

    def _stream_plan(
        self,
        found: Entry,
        url: str,
        base_url: str | None,
        max_attempts: int | None,
        max_retry_seconds: float | None,
    ) -> tuple[str, RetryPolicy]:
        """The checked target and the retry policy of a streamed request, worked out once per
        (URL, base URL, retry options) for the entry (what a refusal raises is not kept)."""
        key = ("stream", url, base_url, max_attempts, max_retry_seconds)
        kept: tuple[str, RetryPolicy] | None = found.plans.get(key)
        if kept is None:
            allow_http = self.runtime.settings.allow_http_host_entries
            kept = (
                stream_target(found.resolved, url, base_url, allow_http),
                retry_policy(found.resolved.service, max_attempts, max_retry_seconds),
            )
            if len(found.plans) < 256:
                found.plans[key] = kept
        return kept

    # -- what the three share: resolution, preparation, failures ----------------------------

    def _prepare(
        self,
        call: InvokeCall,
        found: Entry,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | str | bytes | None,
        json: Any,
        timeout: float | None,
        max_attempts: int | None,
        max_retry_seconds: float | None,
    ) -> _Send:
        call.target = self._plan(found, call.url, None, None).target
        return _Send(
            auth=found.auth,
            policy=retry_policy(found.resolved.service, max_attempts, max_retry_seconds),
            options=request_options(headers, params, data, json, timeout or self._timeout),
        )

    def _timeout_extension(self, timeout: float | None) -> dict[str, Any]:
        """The request extension of a timeout (what ``build_request`` would make each time)."""
        return timeout_extension(self._timeouts, timeout or self._timeout)
