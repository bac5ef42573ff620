"""``invoke_url`` of the remote client through the server's ``/proxy/<link_name>/…``: the request
goes as itself (method, headers, query and body as httpx2 writes them, as the embedded client
sends them) and the upstream's answer comes back streamed, repeated headers kept.

The proxy is asked (``X-Plugboard-Invoke: 1``) for what invoke reports: the upstream's URL
without its query, and its ``Set-Cookie`` and ``Date`` headers under ``X-Plugboard-`` names
(so no cookie lands on Plugboard's origin, nor in this client's cookie jar); they are restored
here. The options ``/api/v1/invoke`` takes in its body travel as ``X-Plugboard-*`` headers.

A request the proxy cannot carry as given goes in the ``/api/v1/invoke`` envelope instead,
which sends it (or refuses it, naming the field) exactly as before: a URL or a header that
cannot be sent on an HTTP request line (control characters, non-ASCII, a name that is not a
token, a URL longer than :data:`MAX_PROXY_URL`), a header the proxy never forwards (``Cookie``,
``Authorization``, ``Host``, hop-by-hop, ``X-Plugboard-*``), an option out of range, a full URL
whose origin holds a ``{placeholder}``, or both ``data`` and ``json``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx2

from plugboard.client.protocol import InvokeResponse
from plugboard.client.remote_invoke import content_charset
from plugboard.client.remote_problems import raise_for_problem
from plugboard.domain.http_tokens import TOKEN

__all__ = ["MAX_PROXY_URL", "proxied_response", "proxy_request"]

# Servers commonly refuse longer request lines; the envelope carries (or refuses) such URLs.
MAX_PROXY_URL = 8000
# Headers /proxy does not forward (see plugboard.server.proxy).
_NOT_FORWARDED = frozenset(
    {
        "authorization", "connection", "content-length", "cookie", "expect", "host", "keep-alive",
        "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
        "trailers", "transfer-encoding", "upgrade",
    }
)  # fmt: skip
_TOKEN = re.compile(TOKEN)
_UNSENDABLE = re.compile(r"[^\x20-\x7e\t]")  # controls and non-ASCII (a tab is allowed)
_RESTORED = {"x-plugboard-set-cookie": "set-cookie", "x-plugboard-date": "date"}


def _sendable(value: str) -> bool:
    return not _UNSENDABLE.search(value)


def _headers(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    sent = dict(headers or {})
    for name, value in sent.items():
        lower = name.lower()
        if not _TOKEN.fullmatch(name) or not _sendable(value):
            return None
        if lower in _NOT_FORWARDED or lower.startswith("x-plugboard-"):
            return None
    if not any(name.lower() == "accept" for name in sent):
        sent["Accept"] = "*/*"  # as httpx2 sends by default (the client's own is JSON)
    return sent


def _target(server: str, connection: str, url: str) -> tuple[str, str | None] | None:
    """The proxy URL and the base URL header for ``url``, or None (the envelope carries it)."""
    if "\t" in url or not _sendable(url) or len(url) > MAX_PROXY_URL:
        return None
    proxy = f"{server}/proxy/{quote(connection, safe='')}"
    if url.startswith("/"):
        return proxy + url, None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    if "{" in origin or not url.startswith(origin):
        return None
    path = url[len(origin) :]
    return proxy + (path if path.startswith("/") else "/" + path), origin


def proxy_request(
    server: str,
    url: str,
    connection: str,
    headers: Mapping[str, str] | None,
    params: Mapping[str, Any] | None,
    data: Mapping[str, Any] | str | bytes | None,
    json: Any,
    environment: str | None,
    as_user: str | None,
    timeout: float | None,
    max_attempts: int | None,
    max_retry_seconds: float | None,
) -> dict[str, Any] | None:
    """The arguments of ``httpx2.Client.request`` (after the method) that send this invoke
    through ``/proxy``, or None when it goes in the envelope (see the module docstring)."""
    if data is not None and json is not None:
        return None
    if (
        (timeout is not None and not 0 < timeout <= 600)
        or (max_attempts is not None and not 1 <= max_attempts <= 10)
        or (max_retry_seconds is not None and not 0 < max_retry_seconds <= 300)
    ):
        return None
    if params and sum(len(str(k)) + len(str(v)) for k, v in params.items()) > MAX_PROXY_URL:
        return None
    target = _target(server, connection, url)
    sent = _headers(headers)
    if target is None or sent is None:
        return None
    proxy_url, base = target
    options = {
        "X-Plugboard-Invoke": "1",
        "X-Plugboard-Base-Url": base,
        "X-Plugboard-Environment": environment,
        "X-Plugboard-User": as_user,
        "X-Plugboard-Timeout": None if timeout is None else f"{timeout:g}",
        "X-Plugboard-Max-Attempts": None if max_attempts is None else str(max_attempts),
        "X-Plugboard-Max-Retry-Seconds": (
            None if max_retry_seconds is None else f"{max_retry_seconds:g}"
        ),
    }
    sent.update({name: value for name, value in options.items() if value is not None})
    request: dict[str, Any] = {"url": proxy_url, "headers": sent, "params": params}
    if json is not None:
        request["json"] = json
    elif isinstance(data, str | bytes):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    return request


def proxied_response(answer: httpx2.Response) -> InvokeResponse:
    """The upstream's answer as invoke reports it; Plugboard's own problem raises its error."""
    upstream_url = answer.headers.get("x-plugboard-url")
    if upstream_url is None:  # not the upstream's answer: the proxy refused the request
        raise_for_problem(answer)
    headers = httpx2.Headers(
        [
            (_RESTORED.get(name.lower(), name), value)
            for name, value in answer.headers.multi_items()
            if name.lower() not in ("date", "x-plugboard-url")
        ]
    )
    return InvokeResponse(
        status=answer.status_code,
        headers=headers,
        content=answer.content,
        url=upstream_url or "",
        encoding=content_charset(headers.get("content-type")),
    )
