"""``ANY /proxy/{link_name}/{path}``: an HTTP proxy that adds a connection's credential, for
callers in any language (SPEC §7) and for the remote SDK's ``auth()``.

A plain ASGI app (:class:`ProxyApp`) that the server hands ``/proxy/`` requests before FastAPI
sees them (server/app.py): a pass-through needs none of the framework's routing, dependencies or
request objects. It authenticates (the token cache of server/principal_cache.py), resolves
(the invoke resolution cache), injects and streams through :meth:`Invoker.astream
<plugboard.usecases.invoke.Invoker.astream>` and its pooled keep-alive client; a body the
upstream declares small is passed on in one message, anything else chunk by chunk.

The request goes to the service's base URL (``{dynamic}`` placeholders filled) followed by
``/{path}`` and the query string exactly as received, or to the base the caller names in
``X-Plugboard-Base-Url`` (an http(s) origin with an optional path prefix). Every target passes
the outbound guard (``PLUGBOARD_OUTBOUND_ALLOWLIST``); a named base is checked before the
connection is even looked up, and plain http is allowed only for ``PLUGBOARD_ALLOW_HTTP_HOSTS``
(the credential would travel in clear text otherwise).

- ``Authorization: Bearer <Plugboard token>`` (or a console session: its cookie, and its
  ``X-CSRF-Token`` on writes) authenticates the caller and is never forwarded; neither are
  cookies, ``X-Plugboard-*`` headers, ``Host`` and the hop-by-hop headers (RFC 9110 §7.6.1, and
  any the ``Connection`` header lists). A bearer caller's ``X-CSRF-Token`` is the upstream's.
- ``X-Plugboard-Environment`` picks the environment; ``X-Plugboard-User`` (an e-mail) the user
  whose user-level authorization is used -- only for tokens that act for users (or naming the
  caller itself), else 403. ``X-Plugboard-Timeout`` (seconds, at most 600),
  ``X-Plugboard-Max-Attempts`` (1-10) and ``X-Plugboard-Max-Retry-Seconds`` (at most 300) are
  the options ``/api/v1/invoke`` takes in its body.
- The URL follows invoke's one rule: ``{dynamic}`` placeholders of the connection -- in the
  service's base URL, the named base or the caller's path and query, written as is or
  percent-encoded -- are filled (:func:`plugboard.usecases.invoke_targets.fill_placeholders`).
- ``X-Plugboard-Invoke: 1`` (the remote SDK's ``invoke_url``) asks for what invoke reports:
  the upstream's URL without its query in ``X-Plugboard-Url``, and its ``Set-Cookie`` and
  ``Date`` headers as ``X-Plugboard-Set-Cookie`` (each one kept) and ``X-Plugboard-Date`` --
  renamed, so no cookie is ever set on Plugboard's origin.
- Bodies stream both ways: a request body up to 64 KiB is read first so the request can be sent
  again (an OAuth 2 refresh after a 401, a retry of an idempotent method); a larger one is
  streamed and sent once (see :mod:`plugboard.usecases.invoke`). The response is passed on as
  it arrives, content-encoded only as the caller's ``Accept-Encoding`` allows (``identity``
  when it sent none), without the upstream's hop-by-hop headers and without ``Set-Cookie``
  (the upstream must not set cookies on Plugboard's origin).

Errors are problem+json: 424 no usable authorization (says who must act), 403 blocked target
or not allowed, 404 no such connection, 502 upstream unreachable. A failure after the response
started (the upstream drops mid-body) can only end the response early. A caller that goes away
(mid-upload or mid-response) ends the upstream request at once and is one info line in the log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel
import httpx2
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from plugboard.domain.urls import check_request_url
from plugboard.errors import PlugboardError, ValidationError
from plugboard.server.deps import SESSION_COOKIE
from plugboard.server.errors import http_problem, problem_response
from plugboard.server.principal_cache import PrincipalCache, authenticate_request, bearer_token
from plugboard.server.proxy_headers import (
    BASE_URL_HEADER,
    ENVIRONMENT_HEADER,
    INVOKE_HEADER,
    MAX_RETRY_SECONDS_HEADER,
    TIMEOUT_HEADER,
    USER_HEADER,
    attempts_option,
    read_headers,
    response_headers,
    seconds_option,
)
from plugboard.usecases.invoke import Invoker, replayable_body
from plugboard.usecases.runtime import Runtime

__all__ = ["CLIENT_CLOSED", "PROXY_METHODS", "ProxyApp", "ProxyDispatch"]

log = logging.getLogger("plugboard.proxy")
# The status the access log shows for a caller that went away before the answer (as nginx does).
CLIENT_CLOSED = 499
PROXY_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PREFIX = "/proxy/"
# An answer whose declared length is at most this is read whole and sent in one message: it is
# on its way already, and one message needs no task watching for the caller to go away.
WHOLE_LIMIT = 64 * 1024

_Upstream = AbstractAsyncContextManager[httpx2.Response]


def _base_url(value: str, http_hosts: list[str]) -> str:
    field = "X-Plugboard-Base-Url"
    check_request_url(value.strip(), field)
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        raise ValidationError(field, "must be an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationError(field, "must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(field, "must not carry user info")
    if parts.query or parts.fragment:
        raise ValidationError(field, "must not have a query or fragment")
    if parts.scheme == "http" and host not in http_hosts:
        raise ValidationError(field, "must use https (plain http only for allowed hosts)")
    return value.strip().rstrip("/")


def _forwarded_path(scope: Scope, link_name: str, rest: str) -> str:
    """``/{path}?{query}`` as the caller sent them, percent-encoding untouched."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    prefix = PREFIX + link_name
    forwarded = path[len(prefix) :] if path.startswith(prefix) else "/" + rest
    query = scope.get("query_string", b"")
    return (forwarded or "/") + (f"?{query.decode('latin-1')}" if query else "")


async def _request_chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _closed(send: Send) -> None:
    await send({"type": "http.response.start", "status": CLIENT_CLOSED,
                "headers": [(b"content-length", b"0")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b""})


class ProxyApp:
    """``/proxy/{link_name}/{path}`` as a plain ASGI app over one process's invoker."""

    def __init__(self, runtime: Runtime, invoker: Invoker, principals: PrincipalCache) -> None:
        self.runtime = runtime
        self.invoker = invoker
        self.principals = principals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request whose path is ``/proxy/{link_name}/…``. Errors before the answer
        starts are problem+json; anything else that escapes is the server's 500 (uvicorn logs
        it), as it is for FastAPI's routes."""
        link_name, _, rest = scope["path"][len(PREFIX) :].partition("/")
        if scope["method"] not in PROXY_METHODS:
            await http_problem(HTTPException(405), scope["path"])(scope, receive, send)
            return
        opened: tuple[_Upstream, httpx2.Response, bool] | None = None
        try:
            opened = await self._open(scope, receive, link_name, rest)
        except ClientDisconnect:
            log.info("caller disconnected from /proxy/%s before its request body ended", link_name)
            await _closed(send)
        except PlugboardError as exc:
            await problem_response(exc)(scope, receive, send)
        if opened is None:
            return
        stream, upstream, invoke = opened
        try:
            await self._respond(scope, receive, send, upstream, link_name, invoke)
        finally:
            await stream.__aexit__(None, None, None)

    async def _open(
        self, scope: Scope, receive: Receive, link_name: str, rest: str
    ) -> tuple[_Upstream, httpx2.Response, bool]:
        """Authenticate, read the options and the body, send: the open upstream response."""
        incoming = read_headers(scope["headers"])
        method = scope["method"]
        cookie, auth = incoming.cookie, incoming.authorization
        principal = await authenticate_request(
            self.runtime,
            self.principals,
            authorization=auth,
            session_cookie=cookie_parser(cookie).get(SESSION_COOKIE) if cookie else None,
            csrf_token=incoming.csrf_token,
            method=method,
        )
        options = incoming.options
        base = options.get(BASE_URL_HEADER)
        if base is not None:
            base = _base_url(base, self.runtime.settings.allow_http_host_entries)
            # Refused before the connection is looked up: the credential is not even unsealed.
            await self.invoker.policy.acheck_url(base)
        timeout = seconds_option(options, TIMEOUT_HEADER, "X-Plugboard-Timeout", 600)
        attempts = attempts_option(options)
        retry_seconds = seconds_option(
            options, MAX_RETRY_SECONDS_HEADER, "X-Plugboard-Max-Retry-Seconds", 300
        )
        # A request that declares no body has none: nothing to wait for.
        body = await replayable_body(_request_chunks(receive)) if incoming.has_body else None
        streamed = body is not None and not isinstance(body, bytes)
        stream = self.invoker.astream(
            principal,
            _forwarded_path(scope, link_name, rest),
            method,
            connection=link_name,
            headers=incoming.finish(streamed=streamed, session=bearer_token(auth) is None),
            content=body or None,
            base_url=base,
            environment=options.get(ENVIRONMENT_HEADER),
            as_user=options.get(USER_HEADER),
            timeout=timeout,
            max_attempts=attempts,
            max_retry_seconds=retry_seconds,
        )
        upstream = await stream.__aenter__()
        return stream, upstream, options.get(INVOKE_HEADER) == "1"

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        upstream: httpx2.Response,
        link_name: str,
        invoke: bool,
    ) -> None:
        start = {
            "type": "http.response.start",
            "status": upstream.status_code,
            "headers": response_headers(upstream, invoke=invoke),
        }
        if scope["method"] == "HEAD":
            await send(start)
            await send({"type": "http.response.body", "body": b""})
            return
        length = upstream.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) <= WHOLE_LIMIT:
            body = b"".join([chunk async for chunk in upstream.aiter_raw()])
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        await _stream(start, receive, send, upstream, link_name)


async def _stream(
    start: dict[str, object],
    receive: Receive,
    send: Send,
    upstream: httpx2.Response,
    link_name: str,
) -> None:
    """Pass the answer on chunk by chunk; when the caller goes away mid-body, stop reading the
    upstream at once (one info line)."""
    sent = 0
    finished = False
    gone = False

    async def watch(cancel: anyio.CancelScope) -> None:
        nonlocal gone
        while not finished:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = not finished
                cancel.cancel()
                return

    async with anyio.create_task_group() as group:
        group.start_soon(watch, group.cancel_scope)
        await send(start)
        async for chunk in upstream.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent += len(chunk)
            # Let the server notice a closed connection before the next write (asyncio warns
            # about every write to a lost socket, and the watch must run).
            await anyio.lowlevel.checkpoint()
        finished = True
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        group.cancel_scope.cancel()
    if gone:
        log.info("caller disconnected from /proxy/%s mid-response after %d bytes", link_name, sent)


class ProxyDispatch:
    """In front of the app's own stack: ``/proxy/{link_name}/…`` goes straight to the proxy,
    everything else (``/proxy/{link_name}`` without a path too: 404) to the app."""

    __slots__ = ("app", "proxy")

    def __init__(self, proxy: ProxyApp, app: ASGIApp) -> None:
        self.proxy = proxy
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(PREFIX) and path.find("/", len(PREFIX)) > len(PREFIX):
                await self.proxy(scope, receive, send)
                return
        await self.app(scope, receive, send)
