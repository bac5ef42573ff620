"""``ANY /proxy/{link_name}/{path}``: an HTTP proxy that adds a connection's credential, for
callers in any language (SPEC §7) and for the remote SDK's ``auth()``.

The request goes to the service's base URL (``{dynamic}`` placeholders filled) followed by
``/{path}`` and the query string exactly as received, or to the base the caller names in
``X-Plugboard-Base-Url`` (an http(s) origin with an optional path prefix). Every target passes
the outbound guard (``PLUGBOARD_OUTBOUND_ALLOWLIST``); a named base is checked before the
connection is even looked up, and plain http is allowed only for ``PLUGBOARD_ALLOW_HTTP_HOSTS``
(the credential would travel in clear text otherwise).

- ``Authorization: Bearer <Plugboard token>`` authenticates the caller and is never forwarded;
  neither are cookies, ``X-Plugboard-*`` headers, ``Host`` and the hop-by-hop headers
  (RFC 9110 §7.6.1, and any the ``Connection`` header lists).
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
from contextlib import AsyncExitStack
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel
import httpx2
from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from plugboard.domain.urls import check_request_url
from plugboard.errors import ValidationError
from plugboard.server.deps import CurrentPrincipal
from plugboard.usecases.invoke import Invoker, replayable_body

router = APIRouter(tags=["proxy"])
log = logging.getLogger("plugboard.proxy")
# The status the access log shows for a caller that went away before the answer (as nginx does).
CLIENT_CLOSED = 499

PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
BASE_URL_HEADER = "x-plugboard-base-url"
ENVIRONMENT_HEADER = "x-plugboard-environment"
USER_HEADER = "x-plugboard-user"
TIMEOUT_HEADER = "x-plugboard-timeout"
MAX_ATTEMPTS_HEADER = "x-plugboard-max-attempts"
MAX_RETRY_SECONDS_HEADER = "x-plugboard-max-retry-seconds"
INVOKE_HEADER = "x-plugboard-invoke"
# In the invoke answer: what the proxy otherwise drops, under names no browser acts on.
REPORTED_AS = {"set-cookie": b"x-plugboard-set-cookie", "date": b"x-plugboard-date"}
URL_HEADER = b"x-plugboard-url"

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Never forwarded upstream: the caller's own credentials and what the proxy sets itself.
_REQUEST_DROPPED = HOP_BY_HOP | {"host", "authorization", "cookie", "expect", "content-length"}
# Never returned: uvicorn sets its own Date; cookies of the upstream do not belong here.
_RESPONSE_DROPPED = HOP_BY_HOP | {"set-cookie", "date"}


def _listed_in_connection(headers: list[tuple[str, str]]) -> set[str]:
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }


def _request_headers(request: Request, *, streamed: bool) -> list[tuple[str, str]]:
    pairs = request.headers.items()
    dropped = _REQUEST_DROPPED | _listed_in_connection(pairs)
    kept = [
        (name, value)
        for name, value in pairs
        if name not in dropped and not name.startswith("x-plugboard-")
    ]
    if "accept-encoding" not in request.headers:
        # The answer is passed on still encoded: ask for what the caller asked for (nothing),
        # not for the gzip httpx2 would request by default.
        kept.append(("accept-encoding", "identity"))
    length = request.headers.get("content-length")
    if streamed and length is not None:
        # A streamed body keeps its declared length (else it goes chunked); a buffered body's
        # length is set by the client from the bytes (an API key in a form changes them).
        kept.append(("content-length", length))
    return kept


def _response_headers(upstream: httpx2.Response, *, invoke: bool) -> list[tuple[bytes, bytes]]:
    pairs = upstream.headers.multi_items()
    dropped = _RESPONSE_DROPPED | _listed_in_connection(pairs)
    kept: list[tuple[bytes, bytes]] = []
    for name, value in pairs:
        lower = name.lower()
        if invoke and lower in REPORTED_AS:
            kept.append((REPORTED_AS[lower], value.encode("latin-1")))
        elif lower not in dropped:
            kept.append((lower.encode("latin-1"), value.encode("latin-1")))
    if invoke:
        # The query may carry a credential (an API key parameter): never reported.
        kept.append((URL_HEADER, str(upstream.url).partition("?")[0].encode("latin-1")))
    return kept


def _seconds(request: Request, header: str, field: str, limit: float) -> float | None:
    """A duration option (more than 0, at most ``limit`` seconds), None when not sent."""
    raw = request.headers.get(header)
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        value = -1.0
    if not 0 < value <= limit:
        raise ValidationError(field, f"must be a number of seconds above 0, at most {limit:g}")
    return value


def _attempts(request: Request) -> int | None:
    raw = request.headers.get(MAX_ATTEMPTS_HEADER)
    if raw is None:
        return None
    if not (raw.strip().isdigit() and 1 <= int(raw.strip()) <= 10):
        raise ValidationError("X-Plugboard-Max-Attempts", "must be a whole number from 1 to 10")
    return int(raw.strip())


def _forwarded_path(request: Request, link_name: str) -> str:
    """``/{path}?{query}`` as the caller sent them, percent-encoding untouched."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    path = raw.decode("latin-1")
    prefix = f"/proxy/{link_name}"
    rest = path[len(prefix) :] if path.startswith(prefix) else "/" + request.path_params["path"]
    query = request.scope.get("query_string", b"").decode("latin-1")
    return (rest or "/") + (f"?{query}" if query else "")


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


class _UpstreamResponse(Response):
    """Passes the upstream response on chunk by chunk, then closes it; when the caller goes away
    mid-body, stops reading the upstream at once."""

    def __init__(
        self,
        upstream: httpx2.Response,
        resources: AsyncExitStack,
        link_name: str,
        *,
        invoke: bool = False,
    ) -> None:
        self.status_code = upstream.status_code
        self.raw_headers = _response_headers(upstream, invoke=invoke)
        self.background: BackgroundTask | None = None
        self._upstream = upstream
        self._resources = resources
        self._link_name = link_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(watch, group.cancel_scope)
                await send(
                    {
                        "type": "http.response.start",
                        "status": self.status_code,
                        "headers": self.raw_headers,
                    }
                )
                if scope.get("method") != "HEAD":
                    async for chunk in self._upstream.aiter_raw():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                        sent += len(chunk)
                        # Let the server notice a closed connection before the next write (asyncio
                        # warns about every write to a lost socket, and the watch must run).
                        await anyio.lowlevel.checkpoint()
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                group.cancel_scope.cancel()
        finally:
            await self._resources.aclose()
        if gone:
            log.info(
                "caller disconnected from /proxy/%s mid-response after %d bytes",
                self._link_name,
                sent,
            )


@router.api_route("/proxy/{link_name}/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
async def proxy(
    link_name: str, path: str, request: Request, principal: CurrentPrincipal
) -> Response:
    """Forward the request with the connection's credential; stream the answer back."""
    invoker: Invoker = request.app.state.invoker
    base = request.headers.get(BASE_URL_HEADER)
    if base is not None:
        base = _base_url(base, request.app.state.runtime.settings.allow_http_host_entries)
        # Refused before the connection is looked up: the credential is not even unsealed.
        await invoker.policy.acheck_url(base)
    resources = AsyncExitStack()
    try:
        body = await replayable_body(request.stream().__aiter__())
        streamed = not isinstance(body, bytes)
        upstream = await resources.enter_async_context(
            invoker.astream(
                principal,
                _forwarded_path(request, link_name),
                request.method,
                connection=link_name,
                headers=_request_headers(request, streamed=streamed),
                content=body if streamed or body else None,
                base_url=base,
                environment=request.headers.get(ENVIRONMENT_HEADER),
                as_user=request.headers.get(USER_HEADER),
                timeout=_seconds(request, TIMEOUT_HEADER, "X-Plugboard-Timeout", 600),
                max_attempts=_attempts(request),
                max_retry_seconds=_seconds(
                    request, MAX_RETRY_SECONDS_HEADER, "X-Plugboard-Max-Retry-Seconds", 300
                ),
            )
        )
    except ClientDisconnect:
        await resources.aclose()
        log.info("caller disconnected from /proxy/%s before its request body ended", link_name)
        return Response(status_code=CLIENT_CLOSED)
    except BaseException:
        await resources.aclose()
        raise
    invoke = request.headers.get(INVOKE_HEADER) == "1"
    return _UpstreamResponse(upstream, resources, link_name, invoke=invoke)
