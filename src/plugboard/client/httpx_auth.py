"""Runs an ``httpx2.Auth`` flow for an httpx (the original package) client.

Imported by :mod:`plugboard.client.auth_bridge` only when httpx is installed. Each request the
flow yields becomes an ``httpx.Request``; each ``httpx.Response`` is handed to the flow as an
``httpx2.Response`` whose body is read only if the flow reads it (a streamed download stays
streamed unless the service's expiry signal is in the body).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator

import httpx
import httpx2

from plugboard.client.auth_bridge import PlugboardAuth

__all__ = ["HttpxCompatibleAuth", "async_flow", "sync_flow"]

# The body handed to the flow is already decoded by httpx: these no longer describe it.
_BODY_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})

_SAME: bool = httpx.Auth is httpx2.Auth  # type: ignore[comparison-overlap]
if _SAME:  # httpx2.alias_httpx() was called: httpx *is* httpx2
    HttpxCompatibleAuth = PlugboardAuth
else:

    class HttpxCompatibleAuth(PlugboardAuth, httpx.Auth):  # type: ignore[no-redef]
        """:class:`PlugboardAuth` that httpx also accepts (it dispatches on the request type)."""


class _RequestBody(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """The httpx request's body, read only when the flow needs it (to sign or to replay)."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        yield self._request.read()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield await self._request.aread()


class _ResponseBody(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        yield self._response.read()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield await self._response.aread()


def _to_httpx2(request: httpx.Request) -> tuple[httpx2.Request, _RequestBody]:
    body = _RequestBody(request)
    converted = httpx2.Request(
        request.method, str(request.url), headers=request.headers.raw, stream=body
    )
    return converted, body


def _to_httpx(sent: httpx2.Request, original: httpx.Request, body: _RequestBody) -> httpx.Request:
    # The flow left the body alone: keep the caller's stream (an upload stays streamed).
    stream = original.stream if sent.stream is body else httpx.ByteStream(sent.read())
    return httpx.Request(
        sent.method,
        str(sent.url),
        headers=sent.headers.raw,
        stream=stream,
        extensions=original.extensions,
    )


def _response_to_httpx2(response: httpx.Response, request: httpx2.Request) -> httpx2.Response:
    headers = [(k, v) for k, v in response.headers.raw if k.decode().lower() not in _BODY_FRAMING]
    return httpx2.Response(
        response.status_code, headers=headers, stream=_ResponseBody(response), request=request
    )


def sync_flow(
    flow: httpx2.Auth, request: httpx.Request
) -> Generator[httpx.Request, httpx.Response, None]:
    converted, body = _to_httpx2(request)
    steps = flow.sync_auth_flow(converted)
    sent = next(steps)
    while True:
        response = yield _to_httpx(sent, request, body)
        try:
            sent = steps.send(_response_to_httpx2(response, sent))
        except StopIteration:
            return


async def async_flow(
    flow: httpx2.Auth, request: httpx.Request
) -> AsyncGenerator[httpx.Request, httpx.Response]:
    converted, body = _to_httpx2(request)
    steps = flow.async_auth_flow(converted)
    sent = await steps.__anext__()
    while True:
        response = yield _to_httpx(sent, request, body)
        try:
            sent = await steps.asend(_response_to_httpx2(response, sent))
        except StopAsyncIteration:
            return
