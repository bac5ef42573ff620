"""Web origins (scheme, host, port) and origin patterns, for deciding where a credential may go.

:func:`parse_origin` reads the origin of a URL the way a browser compares origins: the scheme
and host lower-cased, a trailing dot of the host dropped (``api.x.com.`` is the same DNS name),
and the port explicit or the scheme's default (``https://h`` and ``https://h:443`` are one
origin; ``https://h:8443`` and ``http://h`` are others). A URL that parsers could read in more
than one way -- user info (``https://api.x.com@evil.com``), a backslash, white space or control
characters, a malformed port -- has no origin here, so it can never match.

:class:`OriginPattern` is an origin whose leading host labels may be ``{placeholder}``: each such
label stands for exactly one DNS label, and only below a fixed domain of at least two labels the
pattern names (``https://{bucket}.s3.eu-west-1.amazonaws.com``, never ``https://{x}.com``).

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_PORTS",
    "Origin",
    "OriginPattern",
    "origin_pattern_problem",
    "parse_origin",
    "parse_origin_pattern",
]

DEFAULT_PORTS = {"https": 443, "http": 80}
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_WILDCARD = re.compile(r"^\{[A-Za-z][A-Za-z0-9_]{0,49}\}$")
_UNSAFE = re.compile(r"[\\\s\x00-\x1f\x7f]")
# The fixed domain below the wildcards must have at least this many labels (`myshopify.com`).
_MIN_FIXED_LABELS = 2


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        default = DEFAULT_PORTS.get(self.scheme)
        port = "" if self.port == default else f":{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}"


def _split(url: str) -> tuple[str, str, int] | None:
    """(scheme, raw host, port) of an http(s) URL, or None when it is not unambiguous."""
    if _UNSAFE.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or "@" in parts.netloc:
        return None
    host = parts.hostname or ""
    if not host:
        return None
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def _normal_host(host: str) -> str:
    host = host.lower()
    return host[:-1] if host.endswith(".") else host


def parse_origin(url: str) -> Origin | None:
    """The origin of an http(s) URL, or ``None`` when the URL has no unambiguous origin."""
    split = _split(url)
    if split is None:
        return None
    scheme, host, port = split
    host = _normal_host(host)
    if not host or "{" in host or "}" in host:
        return None
    return Origin(scheme, host, port)


@dataclass(frozen=True, slots=True)
class OriginPattern:
    """An origin whose first ``wildcards`` host labels each match any one DNS label."""

    scheme: str
    labels: tuple[str, ...]
    port: int
    wildcards: int

    def matches(self, origin: Origin) -> bool:
        if origin.scheme != self.scheme or origin.port != self.port:
            return False
        labels = origin.host.split(".")
        if len(labels) != len(self.labels):
            return False
        for i, (label, wanted) in enumerate(zip(labels, self.labels, strict=True)):
            if i < self.wildcards:
                if not _DNS_LABEL.fullmatch(label):
                    return False
            elif label != wanted:
                return False
        return True

    def __str__(self) -> str:
        default = DEFAULT_PORTS.get(self.scheme)
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{'.'.join(self.labels)}{port}"


def origin_pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not an origin pattern, or ``None`` when it is one.

    Placeholders (any ``{key}`` left in ``pattern``) may only be whole leading host labels.
    """
    split = _split(pattern.replace("{", "A").replace("}", "A"))
    if split is None:
        return "must be an origin such as https://api.example.com (no user name or password)"
    parts = urlsplit(pattern)
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in pattern:
        return "must be an origin only (scheme, host and optional port): no path or query"
    host = parts.netloc.rsplit(":", 1)[0] if parts.port is not None else parts.netloc
    labels = _normal_host(host).split(".")
    wildcards = 0
    while wildcards < len(labels) and _WILDCARD.fullmatch(labels[wildcards]):
        wildcards += 1
    fixed = labels[wildcards:]
    if any("{" in label or "}" in label for label in fixed):
        return "placeholders may only be whole labels at the start of the host"
    if wildcards and len(fixed) < _MIN_FIXED_LABELS:
        return "a placeholder must stand below a fixed domain of at least two labels"
    if not all(_DNS_LABEL.fullmatch(label) for label in fixed):
        return "must name a host made of DNS labels"
    return None


def parse_origin_pattern(pattern: str) -> OriginPattern | None:
    """The pattern, or ``None`` when :func:`origin_pattern_problem` finds a problem."""
    if origin_pattern_problem(pattern) is not None:
        return None
    split = _split(pattern.replace("{", "A").replace("}", "A"))
    assert split is not None
    scheme, _, port = split
    parts = urlsplit(pattern)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port is not None else parts.netloc
    labels = tuple(_normal_host(host).split("."))
    wildcards = 0
    while wildcards < len(labels) and _WILDCARD.fullmatch(labels[wildcards]):
        wildcards += 1
    return OriginPattern(scheme, labels, port, wildcards)
