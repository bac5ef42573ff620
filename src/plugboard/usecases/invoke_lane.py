"""The pass-through lane of :meth:`Invoker.astream <plugboard.usecases.invoke.Invoker.astream>`
(the proxy): a request whose credential is nothing but headers (an API key in headers) and
whose body is in memory is written straight onto a pooled connection of the outbound wire
transport (auth/outbound_wire.py) -- the request head encoded once, in one pass -- instead of
through httpx2's client, whose header merging, request building and auth flow cost more than
everything else the proxy does.

It sends exactly what the client would: ``Host`` first; the client's default headers
(``Accept``, ``Accept-Encoding``, ``Connection``, ``User-Agent``) unless the caller sent one of
those names; the caller's headers in their order, except those the credential sets; the
credential's headers; ``Content-Length`` for a body (``0`` for an empty POST, PUT or PATCH).
The caller's ``Host``, ``Content-Length`` and ``Transfer-Encoding`` are never sent: the lane
writes its own from the target and the body. The target is parsed by httpx2 (its
percent-encoding, its IDNA), once per target URL. The
outbound guard checks every request (remembered answers cost nothing) and the connection's
address, as on the client's path; errors are httpx2's, so retries and the audit are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx2

from plugboard.auth.apikey import ApiKeyAuth
from plugboard.auth.outbound_wire import AsyncWireTransport, check_head, check_name

__all__ = ["LaneTarget", "Lanes", "lane_credential"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_EMPTY_BODY_LENGTH = frozenset({"POST", "PUT", "PATCH"})
_MAX_TARGETS = 1024
# Set by the lane itself from the target and the body, whatever the caller sent: a caller's
# length or coding that did not match the body would let it be read as a second request.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})


def lane_credential(auth: httpx2.Auth, content: object) -> list[tuple[str, str]] | None:
    """The headers that are the whole credential, when the request can take the lane: an API
    key that sets headers only, and a body in memory (or none)."""
    if type(auth) is not ApiKeyAuth or not (content is None or isinstance(content, bytes)):
        return None
    return auth.header_values()


@dataclass(frozen=True, slots=True)
class LaneTarget:
    """One target URL, parsed once: the pool's key, the request line's target and ``Host``."""

    key: tuple[str, str, int]
    url: httpx2.URL
    path: bytes
    host: bytes


class Lanes:
    """The targets seen (bounded) and the client's default headers, for one async client."""

    def __init__(self, wire: AsyncWireTransport, client_headers: httpx2.Headers) -> None:
        self.wire = wire
        self._targets: dict[str, LaneTarget] = {}
        self._requests: dict[tuple[str, str], httpx2.Request] = {}
        self._defaults = [
            (name.decode("latin-1").lower(), name, value) for name, value in client_headers.raw
        ]

    def target(self, target: str) -> LaneTarget:
        found = self._targets.get(target)
        if found is None:
            url = httpx2.URL(target)
            port = url.port or _DEFAULT_PORTS[url.scheme]
            host = url.raw_host.decode("ascii")  # as on the wire (see AsyncWireTransport)
            found = LaneTarget((url.scheme, host, port), url, url.raw_path, url.netloc)
            if len(self._targets) >= _MAX_TARGETS:
                self._targets.clear()
                self._requests.clear()
            self._targets[target] = found
        return found

    def request(self, method: str, target: str, lane: LaneTarget) -> httpx2.Request:
        """The request an answer names (its URL and method; never sent as such)."""
        key = (method, target)
        found = self._requests.get(key)
        if found is None:
            found = self._requests[key] = httpx2.Request(method, lane.url)
        return found

    def head(
        self,
        method: str,
        lane: LaneTarget,
        headers: Mapping[str, str] | list[tuple[str, str]] | None,
        credential: list[tuple[str, str]],
        content: bytes | None,
    ) -> bytes:
        """The request head, refused (LocalProtocolError) when a part could end a line. The
        caller's header names were checked as tokens already (``check_headers``)."""
        pairs = list(headers.items()) if isinstance(headers, Mapping) else headers or []
        replaced = _OWN_HEADERS | {name.lower() for name, _ in credential}
        taken = replaced | {name.lower() for name, _ in pairs}
        parts = [method.encode("ascii"), b" ", lane.path, b" HTTP/1.1\r\nHost: ", lane.host]
        for lower, raw_name, raw_value in self._defaults:
            if lower not in taken:
                parts += (b"\r\n", raw_name, b": ", raw_value)
        for name, value in pairs:
            if name.lower() not in replaced:
                parts += (b"\r\n", name.encode("latin-1"), b": ", value.encode("latin-1"))
        for name, value in credential:
            parts += (b"\r\n", check_name(name.encode("latin-1")), b": ",
                      value.encode("latin-1"))  # fmt: skip
        if content or method in _EMPTY_BODY_LENGTH:
            parts += (b"\r\nContent-Length", b": ", str(len(content or b"")).encode("ascii"), b"")
        # One line end after the request line and after each header (four parts each), and
        # the empty line that ends the head.
        line_ends = 1 + (len(parts) - 5) // 4 + 2
        parts.append(b"\r\n\r\n")
        return check_head(b"".join(parts), line_ends, method.encode("ascii"), lane.path)
