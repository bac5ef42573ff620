"""Runs an ``httpx2.Auth`` flow for requests.

requests calls an auth object once, with the ``PreparedRequest``, before sending; the flow's
first request is copied onto it. A response hook then gives the flow the answer: if the flow
wants to send again (after refreshing a rejected token), the hook sends the retry on the same
connection adapter and returns its response instead, with the rejected one in ``history``.
Imported only when requests is used.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import httpx2
import requests
from requests.structures import CaseInsensitiveDict

from plugboard.errors import ValidationError

__all__ = ["prepare"]

_BODY_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class _ResponseBody(httpx2.SyncByteStream):
    """The response's body, read only when the flow looks at it."""

    def __init__(self, response: requests.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        yield self._response.content


def _body(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        # What http.client sends for a str body (form-encoded data is ASCII anyway).
        try:
            return body.encode("latin-1")
        except UnicodeEncodeError:
            return body.encode("utf-8")
    raise ValidationError(
        "body",
        "pb.auth() with requests needs the body in memory (bytes, str, data= or json=); "
        "stream uploads with httpx2",
    )


def _to_httpx2(request: requests.PreparedRequest) -> httpx2.Request:
    headers = [(k, v) for k, v in request.headers.items() if isinstance(v, str | bytes)]
    return httpx2.Request(
        request.method or "GET", request.url or "", headers=headers, content=_body(request.body)
    )


def _apply(sent: httpx2.Request, request: requests.PreparedRequest) -> None:
    request.method = sent.method
    request.url = str(sent.url)
    # requests derives Host from the URL; every other header is the flow's.
    request.headers = CaseInsensitiveDict(
        {k: v for k, v in sent.headers.items() if k.lower() != "host"}
    )
    body = sent.read()
    request.body = body if body or request.body is not None else None


def _to_httpx2_response(response: requests.Response, request: httpx2.Request) -> httpx2.Response:
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _BODY_FRAMING]
    return httpx2.Response(
        response.status_code, headers=headers, stream=_ResponseBody(response), request=request
    )


def prepare(flow: httpx2.Auth, request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Put the credential on ``request`` and hook the flow's retry onto its response."""
    steps: Generator[httpx2.Request, httpx2.Response, None] = flow.sync_auth_flow(
        _to_httpx2(request)
    )
    sent = next(steps)
    _apply(sent, request)

    def on_response(response: requests.Response, **kwargs: Any) -> requests.Response:
        nonlocal sent
        current = response
        while True:
            try:
                sent = steps.send(_to_httpx2_response(current, sent))
            except StopIteration:
                return current
            retry = current.request.copy()
            _apply(sent, retry)
            # The retry's answer is handled by this loop, not by another round of the hook.
            retry.hooks["response"] = [h for h in retry.hooks["response"] if h is not on_response]
            retry.prepare_content_length(retry.body)
            _ = current.content  # release the connection before reusing it
            current.close()
            adapter = current.connection
            following = adapter.send(retry, **kwargs)
            following.history.append(current)
            following.request = retry
            current = following

    request.register_hook("response", on_response)  # type: ignore[no-untyped-call]
    return request
