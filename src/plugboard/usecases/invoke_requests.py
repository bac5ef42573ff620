"""Building the outbound request of an invoke: options, headers that can be sent, the replay rule
for streamed bodies, the retry policy, and transport errors without secrets.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2

from plugboard.auth.apikey import ApiKeyAuth, Placement
from plugboard.auth.oauth2 import OAuth2Auth
from plugboard.auth.retry import RetryPolicy
from plugboard.auth.sigv4 import SigV4Auth
from plugboard.domain.http_tokens import TOKEN
from plugboard.domain.service import RetrySettings, ServiceDefinition
from plugboard.domain.urls import MAX_URL_LENGTH, check_request_url, url_too_long
from plugboard.errors import (
    InvalidURL,
    ValidationError,
)

__all__ = [
    "REPLAY_LIMIT",
    "Plan",
    "build_request",
    "make_plan",
    "check_headers",
    "replayable_body",
    "request_options",
    "retry_policy",
    "timeout_extension",
    "transport_message",
]

# The largest request body that is kept in memory so the request can be sent again (see the
# module docstring); a larger one is streamed and sent once.
REPLAY_LIMIT = 64 * 1024


def build_request(
    client: httpx2.Client | httpx2.AsyncClient, method: str, target: str, options: dict[str, Any]
) -> httpx2.Request:
    """The request to send; a URL httpx2 cannot build (or too long once the parameters are
    added) is InvalidURL, without httpx2's message (it may quote the URL)."""
    params = options.get("params") or {}
    # The query is at least as long as its names and values: refuse before httpx2 builds it.
    if len(target) + sum(len(str(k)) + len(str(v)) for k, v in params.items()) > MAX_URL_LENGTH:
        raise url_too_long()
    try:
        request = client.build_request(method, target, **options)
    except httpx2.InvalidURL:
        raise InvalidURL("url", "invalid", "url: is not a valid URL") from None
    check_request_url(str(request.url))
    return request


@dataclass(frozen=True, slots=True)
class Plan:
    """What an invoke of one URL with no headers, parameters or body prepares once per cached
    resolution (the target already filled and checked, the URL parsed, the retry policy), so
    each call only builds its request and sends it.

    The credential goes on the request one of four ways: ``headers`` already carry it (an API
    key in headers), ``signer`` signs the built request (SigV4; the signed headers are kept
    and reused while the date, to the second, is the same: what a new signature would say),
    ``prepare`` applies it to the built request (an API key elsewhere: nothing to do after the
    answer), or ``auth`` is the httpx2 flow to send with (OAuth: refresh before expiry and once
    on rejection; OAuth 1, Basic)."""

    # Everything but the target and policy may hold the credential: kept out of the repr.
    target: str
    url: httpx2.URL = field(repr=False)
    policy: RetryPolicy
    headers: httpx2.Headers = field(repr=False)
    prepare: Callable[[httpx2.Request], httpx2.Request] | None = field(repr=False)
    auth: httpx2.Auth | None = field(repr=False)
    signer: SigV4Auth | None = field(default=None, repr=False)
    # OAuth 2: its steps driven by the invoke, not by httpx2's auth machinery (no body).
    oauth2: OAuth2Auth | None = field(default=None, repr=False)
    # (method, X-Amz-Date) -> the signed request's headers; one entry, replaced each second.
    signed: list[tuple[tuple[str, str], httpx2.Headers]] = field(default_factory=list, repr=False)
    # OAuth 2 in a header: the token ``headers`` already carry (None: the auth puts it on).
    applied: str | None = field(default=None, repr=False)

    def oauth2_request(
        self, method: str, cookies: httpx2.Cookies, extensions: dict[str, Any]
    ) -> tuple[httpx2.Request, str | None]:
        """The request for an OAuth 2 plan and the token it already carries (``None``: not in
        a header, the auth puts it on), for :meth:`OAuth2Auth.send_with`'s ``applied``."""
        return self.request(method, cookies, extensions), self.applied

    def request(
        self, method: str, cookies: httpx2.Cookies, extensions: dict[str, Any]
    ) -> httpx2.Request:
        """The request to send (what ``client.build_request`` makes, without merging again
        what was merged once)."""
        if self.signer is not None:
            return self._signed_request(method, cookies, extensions, self.signer)
        request = httpx2.Request(
            method, self.url, headers=self.headers, cookies=cookies, extensions=extensions
        )
        return request if self.prepare is None else self.prepare(request)

    def _signed_request(
        self,
        method: str,
        cookies: httpx2.Cookies,
        extensions: dict[str, Any],
        signer: SigV4Auth,
    ) -> httpx2.Request:
        # A Cookie header (the client keeps an upstream's cookies) is signed too: only a
        # request without one is taken from or kept for reuse.
        last = self.signed[0] if self.signed and not cookies else None
        if last is not None and last[0] == (method, signer.amz_date()):
            return httpx2.Request(method, self.url, headers=last[1], extensions=extensions)
        request = signer.sign(
            httpx2.Request(
                method, self.url, headers=self.headers, cookies=cookies, extensions=extensions
            )
        )
        if not cookies and request.url == self.url:  # (not re-encoded by the signer)
            self.signed[:] = [((method, request.headers["x-amz-date"]), request.headers.copy())]
        return request


def make_plan(
    target: str, policy: RetryPolicy, client_headers: httpx2.Headers, auth: httpx2.Auth
) -> Plan:
    headers = httpx2.Headers(client_headers)
    prepare: Callable[[httpx2.Request], httpx2.Request] | None = None
    send_auth: httpx2.Auth | None = auth
    signer: SigV4Auth | None = None
    oauth2: OAuth2Auth | None = None
    applied: str | None = None
    if type(auth) is ApiKeyAuth:
        values = auth.header_values()
        if values is None:
            prepare = auth.apply
        else:
            for name, value in values:
                headers[name] = value
        send_auth = None
    elif type(auth) is SigV4Auth:
        signer, send_auth = auth, None
    elif isinstance(auth, OAuth2Auth):
        oauth2, send_auth = auth, None
        if auth.placement is Placement.HEADER:
            # Merged once, like an API key's: the resolution's token stays the same for the
            # entry's life (a refresh drops the entry); a token source that moves on is caught
            # by send_with (``applied`` is no longer current) and the current one put on.
            applied = auth.current_token()
            headers[auth.param_name] = f"{auth.token_prefix}{applied}"
    return Plan(
        target,
        httpx2.URL(target),
        policy,
        headers,
        prepare,
        send_auth,
        signer,
        oauth2,
        applied=applied,
    )


def timeout_extension(cache: dict[float, dict[str, Any]], seconds: float) -> dict[str, Any]:
    """The request extension of a timeout, made once per value (in ``cache``)."""
    extension = cache.get(seconds)
    if extension is None:
        extension = {"timeout": httpx2.Timeout(seconds).as_dict()}
        if len(cache) < 64:
            cache[seconds] = extension
    return extension


_HEADER_NAME = re.compile(TOKEN)
_HEADER_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is allowed inside


def check_headers(headers: Mapping[str, str] | list[tuple[str, str]] | None) -> None:
    """ValidationError naming ``headers[i]`` (never the value) for a header that cannot be
    sent: a name that is not an HTTP token, a value with a control character or non-ASCII."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    for i, (name, value) in enumerate(pairs):
        field = f"headers[{i}]"
        if not _HEADER_NAME.fullmatch(name):
            raise ValidationError(field, "header_name", f"{field}: the name is not an HTTP token")
        if _HEADER_VALUE_CONTROL.search(value):
            raise ValidationError(
                field, "control_characters", f"{field}: the value has a control character"
            )
        if not value.isascii():
            raise ValidationError(field, "ascii", f"{field}: the value must be ASCII")


# Headers the client sets from the URL and the body: a caller's own would say something else
# (a Content-Length that is not the body's lets the body be read as a second request).
_FRAMING_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
     "upgrade", "proxy-connection"}
)  # fmt: skip


def request_options(
    headers: Mapping[str, str] | None,
    params: Mapping[str, Any] | None,
    data: Mapping[str, Any] | str | bytes | None,
    json: Any,
    timeout: float,
) -> dict[str, Any]:
    check_headers(headers)
    for i, name in enumerate(headers or {}):
        if name.lower() in _FRAMING_HEADERS:
            raise ValidationError(
                f"headers[{i}]", "framing_header",
                f"headers[{i}]: {name} is set by Plugboard from the URL and the body",
            )  # fmt: skip
    options: dict[str, Any] = {"headers": headers, "params": params, "timeout": timeout}
    if data is not None and json is not None:
        raise ValidationError("data", "give either data or json, not both")
    if json is not None:
        options["json"] = json
    elif isinstance(data, str | bytes):
        options["content"] = data
    elif data is not None:
        options["data"] = data
    return options


async def replayable_body(
    chunks: AsyncIterator[bytes], limit: int = REPLAY_LIMIT
) -> bytes | AsyncIterator[bytes]:
    """The whole body as bytes when it ends within ``limit`` bytes; otherwise a stream of the
    chunks already read followed by the rest (nothing is read twice, nothing more is kept)."""
    buffered: list[bytes] = []
    size = 0
    while size <= limit:
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return b"".join(buffered)
        buffered.append(chunk)
        size += len(chunk)

    async def rest() -> AsyncIterator[bytes]:
        for chunk in buffered:
            yield chunk
        buffered.clear()
        async for chunk in chunks:
            yield chunk

    return rest()


def retry_policy(
    service: ServiceDefinition, max_attempts: int | None, max_seconds: float | None
) -> RetryPolicy:
    base = service.retry or RetrySettings()
    if max_attempts is not None and not 1 <= max_attempts <= 10:
        raise ValidationError("max_attempts", "must be between 1 and 10")
    if max_seconds is not None and not 0 < max_seconds <= 300:
        raise ValidationError("max_retry_seconds", "must be more than 0 and at most 300")
    return RetryPolicy(
        max_attempts=max_attempts if max_attempts is not None else base.max_attempts,
        max_seconds=max_seconds if max_seconds is not None else base.max_seconds,
    )


def transport_message(method: str, target: str, exc: httpx2.HTTPError) -> str:
    try:
        host = urlsplit(target).hostname or "?"
    except ValueError:
        host = "?"
    kind = type(exc).__name__
    # A network or timeout error's message names the failure ("[Errno 111] Connection
    # refused"); a protocol error's may quote a header of the request or the answer (a
    # credential): only its type is told.
    text = (
        str(exc).strip() if isinstance(exc, httpx2.NetworkError | httpx2.TimeoutException) else ""
    )
    first = text.splitlines()[0][:200] if text else ""
    return f"{method} to {host} failed: {kind}" + (f" ({first})" if first else "")


# --- pb.auth(link_name): an httpx2.Auth for any client ---------------------------------------
