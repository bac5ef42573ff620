"""What the proxy reads from a request's headers and what it passes on either way, in one pass
over the ASGI header list (see :mod:`plugboard.server.proxy` for the rules)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx2

from plugboard.errors import ValidationError

BASE_URL_HEADER = "x-plugboard-base-url"
ENVIRONMENT_HEADER = "x-plugboard-environment"
USER_HEADER = "x-plugboard-user"
TIMEOUT_HEADER = "x-plugboard-timeout"
MAX_ATTEMPTS_HEADER = "x-plugboard-max-attempts"
MAX_RETRY_SECONDS_HEADER = "x-plugboard-max-retry-seconds"
INVOKE_HEADER = "x-plugboard-invoke"
# In the invoke answer: what the proxy otherwise drops, under names no browser acts on.
REPORTED_AS = {b"set-cookie": b"x-plugboard-set-cookie", b"date": b"x-plugboard-date"}
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
_RESPONSE_DROPPED = frozenset(
    name.encode() for name in HOP_BY_HOP | {"set-cookie", "date"}
)  # fmt: skip


@dataclass(slots=True)
class Incoming:
    """A proxy request's headers: what goes upstream and what is Plugboard's."""

    forwarded: list[tuple[str, str]]
    authorization: str | None = None
    cookie: str | None = None
    csrf_token: str | None = None
    content_length: str | None = None
    chunked: bool = False
    options: dict[str, str] = field(default_factory=dict)

    @property
    def has_body(self) -> bool:
        """HTTP/1.1: a request has a body only when it says so (RFC 9112 §6.3)."""
        return self.chunked or (self.content_length is not None and self.content_length != "0")

    def finish(self, *, streamed: bool, session: bool) -> list[tuple[str, str]]:
        """The headers to forward, once it is known whether the body is streamed and whether a
        console session (cookie and CSRF token, both Plugboard's) authenticated the caller."""
        if self.csrf_token is not None and not session:
            self.forwarded.append(("x-csrf-token", self.csrf_token))  # the upstream's own
        if "accept-encoding" not in self.options:
            # The answer is passed on still encoded: ask for what the caller asked for
            # (nothing), not for the gzip httpx2 would request by default.
            self.forwarded.append(("accept-encoding", "identity"))
        if streamed and self.content_length is not None:
            # A streamed body keeps its declared length (else it goes chunked); a buffered
            # body's length is set by the client from the bytes (an API key in a form changes
            # them).
            self.forwarded.append(("content-length", self.content_length))
        return self.forwarded


def read_headers(raw: list[tuple[bytes, bytes]]) -> Incoming:
    """One pass: Plugboard's own headers are taken out, the rest kept for the upstream."""
    found = Incoming([])
    kept = found.forwarded
    options = found.options
    listed: set[str] | None = None
    for raw_name, raw_value in raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name.startswith("x-plugboard-"):
            options.setdefault(name, value)
        elif name in _REQUEST_DROPPED:
            if name == "authorization":
                found.authorization = found.authorization or value
            elif name == "cookie":
                found.cookie = found.cookie or value
            elif name == "content-length":
                found.content_length = found.content_length or value
            elif name == "transfer-encoding":
                found.chunked = True
            elif name == "connection":
                listed = (listed or set()) | {t.strip().lower() for t in value.split(",")}
        else:
            if name == "accept-encoding":
                options.setdefault(name, value)
            elif name == "x-csrf-token" and found.csrf_token is None:
                found.csrf_token = value
                continue  # Plugboard's own when a session authenticates (see finish)
            kept.append((name, value))
    if listed:  # any header the Connection header names is hop-by-hop too (RFC 9110 §7.6.1)
        found.forwarded = [(n, v) for n, v in kept if n not in listed]
    return found


def response_headers(upstream: httpx2.Response, *, invoke: bool) -> list[tuple[bytes, bytes]]:
    """The upstream's headers without hop-by-hop ones, Set-Cookie, Date and any
    ``X-Plugboard-*`` (the names Plugboard reports under: an upstream cannot forge them), with
    ``invoke``: Set-Cookie and Date renamed, and the URL without its query added."""
    pairs = upstream.headers.raw
    listed: set[bytes] = set()
    for name, value in pairs:
        if name.lower() == b"connection":
            listed |= {t.strip().lower() for t in value.split(b",")}
    kept: list[tuple[bytes, bytes]] = []
    for name, value in pairs:
        lower = name.lower()
        if lower in _RESPONSE_DROPPED or lower in listed:
            if invoke and lower in REPORTED_AS:
                kept.append((REPORTED_AS[lower], value))
        elif lower.startswith(b"x-plugboard-"):
            continue
        else:
            kept.append((lower, value))
    if invoke:
        # The query may carry a credential (an API key parameter): never reported.
        kept.append((URL_HEADER, str(upstream.url).partition("?")[0].encode("latin-1")))
    return kept


def seconds_option(options: dict[str, str], header: str, field: str, limit: float) -> float | None:
    """A duration option (more than 0, at most ``limit`` seconds), None when not sent."""
    raw = options.get(header)
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        value = -1.0
    if not 0 < value <= limit:
        raise ValidationError(field, f"must be a number of seconds above 0, at most {limit:g}")
    return value


def attempts_option(options: dict[str, str]) -> int | None:
    raw = options.get(MAX_ATTEMPTS_HEADER)
    if raw is None:
        return None
    if not (raw.strip().isdigit() and 1 <= int(raw.strip()) <= 10):
        raise ValidationError("X-Plugboard-Max-Attempts", "must be a whole number from 1 to 10")
    return int(raw.strip())
