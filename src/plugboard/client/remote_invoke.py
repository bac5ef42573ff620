"""Invoke over the server's JSON envelope (``POST /api/v1/invoke``): the request's payload and
the upstream answer it carries back. The remote client uses it for what ``/proxy`` cannot carry
as given (see :mod:`plugboard.client.remote_proxy_invoke`)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx2

from plugboard import errors
from plugboard.client.protocol import InvokeResponse
from plugboard.client.remote_problems import raise_for_problem

__all__ = ["content_charset", "invoke_payload", "invoke_response"]


def _scalar(value: Any) -> str:
    # As httpx2 writes query and form values, so both clients send the same request.
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _pairs(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in values.items():
        items = value if isinstance(value, list | tuple) else [value]
        pairs.extend((str(name), _scalar(v)) for v in items)
    return pairs


def invoke_payload(
    url: str,
    method: str,
    connection: str,
    headers: Mapping[str, str] | None,
    params: Mapping[str, Any] | None,
    data: Mapping[str, Any] | str | bytes | None,
    json: Any,
    environment: str | None,
    as_user: str | None,
    timeout: float | None,
    max_attempts: int | None = None,
    max_retry_seconds: float | None = None,
) -> dict[str, Any]:
    """The ``/invoke`` envelope for one call, sent the way httpx2 would send it directly."""
    if data is not None and json is not None:
        raise errors.ValidationError("data", "give either data or json, not both")
    payload: dict[str, Any] = {"connection": connection, "method": method.upper(), "url": url}
    sent_headers = dict(headers or {})
    if params:
        pairs = _pairs(params)
        if len({name for name, _ in pairs}) == len(pairs):
            payload["params"] = dict(pairs)
        else:  # a repeated name: the envelope's params is a map, so it goes in the URL
            payload["url"] = url + ("&" if "?" in url else "?") + urlencode(pairs)
    if json is not None:
        payload["json"] = json
    elif isinstance(data, bytes):
        payload["body_base64"] = base64.b64encode(data).decode()
    elif isinstance(data, str):
        payload["text"] = data
    elif data is not None:
        pairs = _pairs(data)
        if len({name for name, _ in pairs}) == len(pairs):
            payload["form"] = dict(pairs)
        else:
            payload["text"] = urlencode(pairs)
            if not any(k.lower() == "content-type" for k in sent_headers):
                sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
    if sent_headers:
        payload["headers"] = sent_headers
    if environment is not None:
        payload["environment"] = environment
    if as_user is not None:
        payload["as_user"] = as_user
    if timeout is not None:
        payload["timeout"] = timeout
    if max_attempts is not None:
        payload["max_attempts"] = max_attempts
    if max_retry_seconds is not None:
        payload["max_retry_seconds"] = max_retry_seconds
    return payload


def content_charset(content_type: str | None) -> str:
    """The charset a Content-Type names (UTF-8 when it names none)."""
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


def invoke_response(answer: httpx2.Response) -> InvokeResponse:
    """The upstream's answer carried back in the envelope (a problem raises its error)."""
    raise_for_problem(answer)
    result = answer.json()
    if result.get("body_base64") is not None:
        content = base64.b64decode(result["body_base64"])
    else:
        content = str(result.get("text") or "").encode("utf-8")
    headers = httpx2.Headers(result["headers"])
    return InvokeResponse(
        status=int(result["status"]),
        headers=headers,
        content=content,
        url=str(result["url"]),
        encoding=content_charset(headers.get("content-type")),
    )
