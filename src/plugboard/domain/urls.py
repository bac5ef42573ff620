"""Dynamic-parameter substitution in URLs (SPEC §2, §7 step 2), and the PKCE pair (SPEC §5).

``substitute("https://{shop}.myshopify.com/admin/{path}", values)`` replaces each ``{key}`` with
its value, encoded for the part of the URL the placeholder sits in, so that a value can never
change the scheme, the host, the port or the path structure the template author wrote:

- **scheme, userinfo**: placeholders are not allowed there at all.
- **host**: a placeholder that is part of a host label (``{shop}.myshopify.com``) takes exactly
  one DNS label (letters, digits, inner hyphens, 1–63 characters). A placeholder that is the
  whole host (``https://{domain}/``) takes dot-separated DNS labels. Anything else (``/``, ``@``,
  ``:``, ``..``, empty, non-ASCII) is refused, never encoded: a host cannot be percent-encoded.
- **port**: digits only, 1–65535.
- **path**: the value is one path-segment fragment: ``/ ? # %`` and everything outside the
  RFC 3986 unreserved and sub-delimiter sets are percent-encoded, and a value that would make a
  whole segment ``.`` or ``..`` -- or holds one between slashes, as ``../x`` does -- is refused
  (servers decode ``%2E`` and some decode ``%2F``, so encoding is no defence there).
- **query, fragment**: encoded as a query value (only ``A-Za-z0-9-._~`` stay literal).

Errors are :class:`~plugboard.errors.ValidationError` with ``field="dynamic_parameters.<key>"``;
the message names the parameter and the rule, never the value.

This module is pure: no I/O (``secrets`` for the PKCE verifier is the only source of entropy).
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from plugboard.errors import InvalidURL, ValidationError

__all__ = [
    "MAX_URL_LENGTH",
    "PKCE_VERIFIER_ALPHABET",
    "check_request_url",
    "url_too_long",
    "pkce_challenge",
    "pkce_pair",
    "placeholders",
    "substitute",
]

# The longest request URL (with its query) an invoke sends; servers commonly refuse longer ones.
MAX_URL_LENGTH = 16384
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# Characters that may stay literal inside one path segment (RFC 3986 pchar minus "%").
_PATH_SAFE = "-._~!$&'()*+,;=:@"
_QUERY_SAFE = "-._~"


def check_request_url(url: str, field: str = "url") -> str:
    """``url`` when it can be sent as the target of a request; otherwise InvalidURL naming
    ``field`` and the rule (``control_characters``, ``max_length``, ``invalid``) -- never the
    URL, whose query may hold a secret."""
    if _CONTROL.search(url):
        raise InvalidURL(
            field,
            "control_characters",
            f"{field}: must not contain control characters (tab, newline, ...); "
            "percent-encode them",
        )
    if len(url) > MAX_URL_LENGTH:
        raise url_too_long(field)
    try:
        urlsplit(url).port  # noqa: B018 -- reading it checks the host's brackets and the port
    except ValueError:
        raise InvalidURL(
            field, "invalid", f"{field}: is not a valid URL (its host or port cannot be read)"
        ) from None
    return url


def url_too_long(field: str = "url") -> InvalidURL:
    return InvalidURL(
        field, "max_length", f"{field}: must be at most {MAX_URL_LENGTH} characters, query included"
    )


def placeholders(template: str) -> set[str]:
    """The keys of every ``{key}`` placeholder in ``template``."""
    return set(_PLACEHOLDER.findall(template))


@dataclass(frozen=True, slots=True)
class _Parts:
    """Offsets of the URL parts in the template: [start, end) of each."""

    authority: tuple[int, int]
    host: tuple[int, int]
    port: tuple[int, int] | None
    path_end: int  # path runs from authority end to here; query/fragment after


def _split_template(template: str) -> _Parts:
    scheme_end = template.find("://")
    if scheme_end < 0:
        raise ValidationError("url", "absolute_url", "url: must be an absolute http(s) URL")
    auth_start = scheme_end + 3
    auth_end = len(template)
    for sep in "/?#":
        i = template.find(sep, auth_start)
        if i >= 0:
            auth_end = min(auth_end, i)
    path_end = len(template)
    for sep in "?#":
        i = template.find(sep, auth_end)
        if i >= 0:
            path_end = min(path_end, i)
    at = template.rfind("@", auth_start, auth_end)
    host_start = at + 1 if at >= 0 else auth_start
    host_end = auth_end
    port: tuple[int, int] | None = None
    if not template.startswith("[", host_start):
        colon = template.rfind(":", host_start, auth_end)
        if colon >= 0:
            host_end = colon
            port = (colon + 1, auth_end)
    return _Parts((auth_start, auth_end), (host_start, host_end), port, path_end)


def _field(key: str) -> str:
    return f"dynamic_parameters.{key}"


def _refuse(key: str, rule: str, why: str) -> ValidationError:
    return ValidationError(_field(key), rule, f"dynamic parameter {key!r}: {why}")


def _host_value(key: str, value: str, whole_host: bool) -> str:
    labels = value.split(".") if whole_host else [value]
    if not value or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        what = "dot-separated DNS labels" if whole_host else "a single DNS label"
        raise _refuse(key, "dns_label", f"must be {what} (letters, digits, hyphens)")
    return value


def _port_value(key: str, value: str) -> str:
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 65536):
        raise _refuse(key, "port", "must be a port number 1-65535")
    return value


def substitute(template: str, values: Mapping[str, str]) -> str:
    """Replace each ``{key}`` in ``template`` with ``values[key]``, encoded for its URL part.

    Raises ValidationError(field="dynamic_parameters.<key>", rule=...) when a value is missing
    (rule ``required``) or cannot be placed safely (``dns_label``, ``port``, ``dot_segment``,
    ``placement``).
    """
    parts = _split_template(template)
    out: list[str] = []
    pos = 0
    # (start, end) offsets in the output of each substituted path value, for the dot check.
    path_spans: list[tuple[int, int, str]] = []
    out_len = 0
    for match in _PLACEHOLDER.finditer(template):
        key = match.group(1)
        start, end = match.span()
        literal = template[pos:start]
        out.append(literal)
        out_len += len(literal)
        if key not in values:
            raise ValidationError(_field(key), "required", f"dynamic parameter {key!r} is missing")
        value = values[key]
        if start < parts.authority[0]:
            raise _refuse(key, "placement", "placeholders are not allowed in the scheme")
        if start < parts.authority[1]:
            if start < parts.host[0]:
                raise _refuse(key, "placement", "placeholders are not allowed in user info")
            if parts.port is not None and start >= parts.port[0]:
                encoded = _port_value(key, value)
            else:
                whole = (start, end) == parts.host
                encoded = _host_value(key, value, whole_host=whole)
        elif start < parts.path_end:
            # A server that decodes %2F (or treats "\\" as "/") must not see a dot segment either.
            if any(piece in (".", "..") for piece in re.split(r"[/\\]", value)):
                raise _refuse(key, "dot_segment", "must not contain a '.' or '..' segment")
            encoded = quote(value, safe=_PATH_SAFE)
            path_spans.append((out_len, out_len + len(encoded), key))
        else:
            encoded = quote(value, safe=_QUERY_SAFE)
        out.append(encoded)
        out_len += len(encoded)
        pos = end
    out.append(template[pos:])
    result = "".join(out)
    _check_dot_segments(result, path_spans)
    _check_structure(result)
    return result


def _check_dot_segments(result: str, spans: list[tuple[int, int, str]]) -> None:
    if not spans:
        return
    auth_start = result.find("://") + 3
    path_start = len(result)
    for sep in "/?#":
        i = result.find(sep, auth_start)
        if i >= 0:
            path_start = min(path_start, i)
    seg_start = path_start
    for i in range(path_start, len(result) + 1):
        if i == len(result) or result[i] in "/?#":
            segment = result[seg_start:i]
            if unquote(segment) in (".", ".."):
                for s_start, s_end, key in spans:
                    if s_start <= i and s_end >= seg_start:
                        raise _refuse(key, "dot_segment", "must not form a '.' or '..' segment")
            if i == len(result) or result[i] in "?#":
                return
            seg_start = i + 1


def _check_structure(result: str) -> None:
    """Defence in depth: the result must parse with the host and port the template implies."""
    parsed = urlsplit(result)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.hostname:
        raise ValidationError("url", "absolute_url", "url: must be an absolute http(s) URL")
    try:
        parsed.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValidationError("url", "port", "url: the port is not valid") from None
    if "\\" in parsed.netloc or any(c in string.whitespace for c in parsed.netloc):
        raise ValidationError("url", "host", "url: the host is not valid")


# --- PKCE (RFC 7636) -------------------------------------------------------------------------

PKCE_VERIFIER_ALPHABET = frozenset(string.ascii_letters + string.digits + "-._~")


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge: BASE64URL(SHA256(ASCII(verifier))) without padding (Authlib)."""
    return str(create_s256_code_challenge(verifier))


def pkce_pair(length: int = 64) -> tuple[str, str]:
    """A fresh ``(code_verifier, code_challenge)`` for the S256 method.

    The verifier is ``length`` (43–128) characters of the unreserved alphabet, from ``secrets``.
    """
    if not 43 <= length <= 128:
        raise ValidationError("pkce.length", "between 43 and 128")
    alphabet = "".join(sorted(PKCE_VERIFIER_ALPHABET))
    verifier = "".join(secrets.choice(alphabet) for _ in range(length))
    return verifier, pkce_challenge(verifier)
