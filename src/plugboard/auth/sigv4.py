"""AWS Signature Version 4 (SPEC §2 "AWS Signature V4"), written on hashlib/hmac only.

The pure functions follow the published specification, and the AWS test suite under
``tests/vectors/sigv4`` plus a cross-check against botocore pin them down:

- **canonical URI**: for every service but S3, dot segments are removed and empty segments
  collapsed (``//example//`` → ``/example/``), then the path *as sent* is URI-encoded again --
  the "double encoding" (a space travels as ``%20`` and is signed as ``%2520``). For S3
  (``service == "s3"``) the path is not normalized and is encoded once: each segment is decoded
  and re-encoded (a ``.``/``..`` segment as ``%2E``/``%2E%2E``, so that no URL layer resolves
  it), and :class:`SigV4Auth` sends that exact path.
- **canonical query**: ``&``-separated pairs, each decoded (``+`` is a space, as form encoding
  and httpx2 use it) and RFC 3986-encoded (only ``A-Za-z0-9-_.~`` literal, space as ``%20``),
  sorted by encoded name then value; repeated names are all kept. :class:`SigV4Auth` rewrites
  the request's query into that encoding (original order) so the server decodes what was signed.
- **canonical headers**: names lower-cased; values trimmed with every run of whitespace
  (including the line breaks of folded multi-line values) collapsed to one space; repeated
  headers joined with ``,`` in their order; sorted by name.
- **payload**: hex SHA-256 of the body, or ``UNSIGNED-PAYLOAD`` when asked.

:class:`SigV4Auth` sets ``X-Amz-Date``, ``X-Amz-Content-Sha256`` and ``Authorization``, and with a
session token ``X-Amz-Security-Token`` -- signed by default, as most services require (the suite
case ``get-vanilla-with-session-token``); ``sign_session_token=False`` adds it after signing
(``post-sts-header-after``). It signs every header except those a proxy or the transport may
change or add (:data:`UNSIGNED_HEADERS`, after the AWS SDKs' "unsignable" list), so ``host``,
``content-type`` and every ``x-amz-*`` header are always covered.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Generator, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote, unquote

import httpx2

__all__ = [
    "ALGORITHM",
    "EMPTY_PAYLOAD_SHA256",
    "UNSIGNED_HEADERS",
    "UNSIGNED_PAYLOAD",
    "SigV4Auth",
    "authorization_header",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "credential_scope",
    "normalize_path",
    "signature",
    "signing_key",
    "string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_HEADERS = frozenset(
    {
        "accept-encoding",
        "authorization",
        "cache-control",
        "connection",
        "expect",
        "from",
        "keep-alive",
        "max-forwards",
        "pragma",
        "proxy-authorization",
        "referer",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)

# The headers sign() sets itself (any value the caller gave is replaced).
_REPLACED = frozenset(
    {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
)


def _uri_encode(text: str, safe: str = "") -> str:
    # quote() always keeps A-Za-z0-9 and "-_.~" (the RFC 3986 unreserved set) and encodes UTF-8.
    return quote(text, safe=safe)


def normalize_path(path: str) -> str:
    """Remove ``.``/``..`` segments and empty segments; keep a leading and a trailing slash."""
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if path.endswith("/") and out else ""
    return lead + "/".join(out) + trail


def _s3_segment(segment: str) -> str:
    decoded = unquote(segment)
    if decoded in (".", ".."):
        # A literal dot segment would be resolved by the URL layer (and by servers) before it is
        # sent, so the path signed would not be the path sent: keep it percent-encoded.
        return "%2E" * len(decoded)
    return _uri_encode(decoded)


def s3_path(path: str) -> str:
    """An S3 path as sent and signed: segments decoded and encoded once, never normalized.

    ``.`` and ``..`` segments (S3 keys such as ``photos/../x.jpg``, written ``%2E%2E`` in the URL)
    stay encoded as ``%2E``/``%2E%2E`` so that nothing on the way resolves them.
    """
    if not path:
        return "/"
    return "/".join(_s3_segment(segment) for segment in path.split("/"))


@lru_cache(maxsize=512)  # a client signs the same few paths again and again
def canonical_uri(path: str, *, service: str) -> str:
    """The CanonicalURI of ``path`` (the path as sent on the wire, or as in the suite's .req)."""
    if service == "s3":
        return s3_path(path)
    return _uri_encode(normalize_path(path), safe="/")


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append(
            (
                _uri_encode(unquote(name.replace("+", " "))),
                _uri_encode(unquote(value.replace("+", " "))),
            )
        )
    return pairs


def encode_query(query: str) -> str:
    """``query`` with every name and value RFC 3986-encoded, order kept (what SigV4Auth sends)."""
    return "&".join(f"{name}={value}" for name, value in _query_pairs(query))


def canonical_query_string(query: str) -> str:
    """The CanonicalQueryString of a raw query string (without ``?``)."""
    return "&".join(f"{name}={value}" for name, value in sorted(_query_pairs(query)))


def canonical_headers(headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """``(CanonicalHeaders, SignedHeaders)`` for exactly the given headers."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.strip().lower(), []).append(" ".join(value.split()))
    names = sorted(grouped)
    block = "".join(f"{name}:{','.join(grouped[name])}\n" for name in names)
    return block, ";".join(names)


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    payload_hash: str,
    *,
    service: str,
) -> str:
    """The CanonicalRequest; ``headers`` are the headers to sign, as (name, value) pairs."""
    block, signed = canonical_headers(headers)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path, service=service),
            canonical_query_string(query),
            block,
            signed,
            payload_hash,
        ]
    )


def credential_scope(amz_date: str, region: str, service: str) -> str:
    return f"{amz_date[:8]}/{region}/{service}/aws4_request"


def string_to_sign(canonical_request: str, amz_date: str, scope: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode("utf-8"), "sha256")


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")."""
    key = _hmac(f"AWS4{secret_key}".encode(), date[:8])
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def signature(
    secret_key: str, string_to_sign: str, amz_date: str, region: str, service: str
) -> str:
    """Hex HMAC-SHA256 of the string to sign under the derived signing key."""
    key = signing_key(secret_key, amz_date, region, service)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization_header(access_key: str, scope: str, signed_headers: str, signature: str) -> str:
    return (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SigV4Auth(httpx2.Auth):
    """Signs every request with AWS Signature Version 4 (header form)."""

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        region: str,
        service: str,
        session_token: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
        *,
        unsigned_payload: bool = False,
        sign_session_token: bool = True,
    ) -> None:
        self._access_key = access_key
        self._secret_key = secret_key
        self.region = region
        self.service = service
        self._session_token = session_token
        self._clock = clock
        self.unsigned_payload = unsigned_payload
        self.sign_session_token = sign_session_token
        self.requires_request_body = not unsigned_payload
        self._day_key: tuple[tuple[str, str, str], bytes] | None = None
        self._last: tuple[tuple[object, ...], str] | None = None

    def __repr__(self) -> str:
        token = "<redacted>" if self._session_token else None
        return (
            f"SigV4Auth(access_key=<redacted>, secret_key=<redacted>, region={self.region!r}, "
            f"service={self.service!r}, session_token={token})"
        )

    def _signing_key(self, amz_date: str) -> bytes:
        """The day's signing key: derived once per day (four HMACs), not once per request."""
        scope = (amz_date[:8], self.region, self.service)
        cached = self._day_key
        if cached is not None and cached[0] == scope:
            return cached[1]
        key = signing_key(self._secret_key, *scope)
        self._day_key = (scope, key)
        return key

    def _authorization(
        self,
        method: str,
        path: str,
        query: str,
        to_sign: list[tuple[str, str]],
        payload_hash: str,
        amz_date: str,
    ) -> str:
        block, signed_headers = canonical_headers(to_sign)
        creq = "\n".join(
            [
                method,
                canonical_uri(path, service=self.service),
                canonical_query_string(query) if query else "",
                block,
                signed_headers,
                payload_hash,
            ]
        )  # canonical_request(), with the headers' block made once for both uses
        scope = credential_scope(amz_date, self.region, self.service)
        sts = string_to_sign(creq, amz_date, scope)
        sig = hmac.digest(self._signing_key(amz_date), sts.encode("utf-8"), "sha256").hex()
        return authorization_header(self._access_key, scope, signed_headers, sig)

    def amz_date(self) -> str:
        """The X-Amz-Date a request signed now carries (its clock, to the second)."""
        return self._clock().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def sign(self, request: httpx2.Request) -> httpx2.Request:
        """Sign ``request`` in place (its body must have been read unless unsigned_payload)."""
        amz_date = self.amz_date()
        if self.unsigned_payload:
            payload_hash = UNSIGNED_PAYLOAD
        else:
            body = request.content
            payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_PAYLOAD_SHA256
        url = request.url
        raw_path, _, raw_query = url.raw_path.partition(b"?")
        path = raw_path.decode("ascii")
        if self.service == "s3":
            path = s3_path(path)
        query = encode_query(raw_query.decode("ascii")) if raw_query else ""
        target = f"{path}?{query}" if query else path
        if target.encode("ascii") != url.raw_path:  # re-encoded: send exactly what is signed
            request.url = url.copy_with(raw_path=target.encode("ascii"))
        headers = request.headers
        items = headers.multi_items()  # names lower-cased
        for name in _REPLACED.intersection(name for name, _ in items):
            del headers[name]
        headers["X-Amz-Date"] = amz_date
        headers["X-Amz-Content-Sha256"] = payload_hash
        to_sign = [
            (name, value)
            for name, value in items
            if name not in UNSIGNED_HEADERS and name not in _REPLACED
        ]
        to_sign += [("x-amz-date", amz_date), ("x-amz-content-sha256", payload_hash)]
        if self._session_token and self.sign_session_token:
            headers["X-Amz-Security-Token"] = self._session_token
            to_sign.append(("x-amz-security-token", self._session_token))
        method = request.method.upper()
        # A signature is a function of what it covers: the same request signed again within
        # the same second (a hot loop) reuses the last one instead of hashing it again.
        memo_key = (
            method,
            target,
            payload_hash,
            amz_date,
            self.region,
            self.service,
            tuple(to_sign),
        )
        last = self._last
        if last is not None and last[0] == memo_key:
            authorization = last[1]
        else:
            authorization = self._authorization(
                method, path, query, to_sign, payload_hash, amz_date
            )
            self._last = (memo_key, authorization)
        headers["Authorization"] = authorization
        if self._session_token and not self.sign_session_token:
            headers["X-Amz-Security-Token"] = self._session_token
        return request

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        yield self.sign(request)
