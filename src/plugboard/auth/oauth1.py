"""OAuth 1.0a HMAC-SHA1 signing (RFC 5849; SPEC §2 "OAuth 1", §5 three-legged flow).

Signing is oauthlib's ``oauthlib.oauth1.Client.sign`` -- not Authlib's, which drops JSON bodies
(authlib#543). This module decides what oauthlib sees:

- a form-encoded body (``application/x-www-form-urlencoded``, any parameters) is handed over, so
  its parameters are signed per RFC 5849 §3.4.1.3.1;
- any other body (JSON, XML, bytes) is withheld from oauthlib: it is sent byte-for-byte as the
  caller wrote it and is not part of the signature (no ``oauth_body_hash``);
- the query string is re-encoded once (decode, then RFC 3986 encode) before signing and sent in
  that form, so the URL the server receives is exactly the one that was signed;
- the placement (``header``, ``query``, ``form``) maps to oauthlib's SIGNATURE_TYPE_AUTH_HEADER,
  SIGNATURE_TYPE_QUERY and SIGNATURE_TYPE_BODY. Form placement needs a form body or an empty
  body on a method that may carry one; otherwise a ValidationError is raised before sending.

oauthlib logs the signature base string (which holds ``oauth_token``) at DEBUG level; a filter
installed on its loggers drops those records so no credential reaches a log handler.

For the three-legged flow, :func:`request_token_auth` (with ``oauth_callback``) and
:func:`access_token_auth` (with ``oauth_verifier``) build the Auth for the two token requests;
:func:`signature_base_string` and :func:`verify_hmac_sha1` recompute a received request's
signature (the server side of the test provider uses them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx2
from oauthlib.oauth1 import (
    SIGNATURE_HMAC_SHA1,
    SIGNATURE_TYPE_AUTH_HEADER,
    SIGNATURE_TYPE_BODY,
    SIGNATURE_TYPE_QUERY,
)
from oauthlib.oauth1 import Client as _OAuthlibClient
from oauthlib.oauth1.rfc5849 import signature as _signature

from plugboard.auth.apikey import FORM_CONTENT_TYPE, Placement, is_form_request, media_type
from plugboard.auth.log_redaction import install_secret_log_filters
from plugboard.errors import ValidationError

__all__ = [
    "OAuth1Auth",
    "access_token_auth",
    "hmac_sha1_signature",
    "request_token_auth",
    "signature_base_string",
    "verify_hmac_sha1",
]

_SIGNATURE_TYPES = {
    Placement.HEADER: SIGNATURE_TYPE_AUTH_HEADER,
    Placement.QUERY: SIGNATURE_TYPE_QUERY,
    Placement.FORM: SIGNATURE_TYPE_BODY,
}


class _Client(_OAuthlibClient):  # type: ignore[misc]  # oauthlib is untyped
    """oauthlib's client, optionally without ``oauth_version`` (it is OPTIONAL, RFC 5849 §3.1)."""

    send_version = True

    def get_oauth_params(self, request: Any) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = super().get_oauth_params(request)
        if self.send_version:
            return params
        return [(k, v) for k, v in params if k != "oauth_version"]


def _default_nonce() -> str:
    return secrets.token_hex(16)


def _encode_query(query: str) -> str:
    """Decode a query (``+`` is a space, as in form encoding) and RFC 3986-encode it again."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ValidationError("url", "utf8_query", "url: the query string is not UTF-8") from None
    return urlencode(pairs, quote_via=quote, safe="-._~")


class OAuth1Auth(httpx2.Auth):
    """Signs every request with OAuth 1.0a HMAC-SHA1.

    ``token``/``token_secret`` are the token credentials (empty for a request-token request).
    ``nonce`` and ``clock`` are injectable for tests; ``send_version=False`` omits
    ``oauth_version`` (RFC 5849 allows both; the RFC's own examples omit it).
    """

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        token: str | None = None,
        token_secret: str | None = None,
        placement: Placement | str = Placement.HEADER,
        realm: str | None = None,
        *,
        callback_uri: str | None = None,
        verifier: str | None = None,
        nonce: Callable[[], str] = _default_nonce,
        clock: Callable[[], float] = time.time,
        send_version: bool = True,
    ) -> None:
        install_secret_log_filters()
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self._token = token or None
        self._token_secret = token_secret or None
        self.placement = Placement(placement)
        self.realm = realm
        self._callback_uri = callback_uri
        self._verifier = verifier
        self._nonce = nonce
        self._clock = clock
        self._send_version = send_version
        # The body is needed to sign form parameters and, for form placement, to rebuild it.
        self.requires_request_body = True

    def __repr__(self) -> str:
        return (
            f"OAuth1Auth(consumer_key=<redacted>, consumer_secret=<redacted>, "
            f"token={'<redacted>' if self._token else None}, "
            f"token_secret={'<redacted>' if self._token_secret else None}, "
            f"placement={self.placement.value!r}, realm={self.realm!r})"
        )

    def _client(self) -> _Client:
        client = _Client(
            self._consumer_key,
            client_secret=self._consumer_secret,
            resource_owner_key=self._token,
            resource_owner_secret=self._token_secret,
            callback_uri=self._callback_uri,
            verifier=self._verifier,
            signature_method=SIGNATURE_HMAC_SHA1,
            signature_type=_SIGNATURE_TYPES[self.placement],
            realm=self.realm,
            nonce=self._nonce(),
            timestamp=str(int(self._clock())),
        )
        client.send_version = self._send_version
        return client

    def sign(self, request: httpx2.Request) -> httpx2.Request:
        """The request, signed. Its body must have been read. May return a new Request."""
        url = request.url
        if url.query:
            url = url.copy_with(query=_encode_query(url.query.decode("ascii")).encode("ascii"))
        method = request.method.upper()
        content = request.content
        form = is_form_request(request)
        oauth_headers: dict[str, str] = {}
        body: str | None = None
        if form:
            try:
                body = content.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError("body", "utf8_form", "body: the form is not UTF-8") from None
            oauth_headers["Content-Type"] = FORM_CONTENT_TYPE
        elif self.placement is Placement.FORM:
            if content or method in ("GET", "HEAD"):
                got = f"a {method} request" if not content else f"a {media_type(request)} body"
                raise ValidationError(
                    "param_type",
                    "form_body",
                    f"param_type: OAuth 1 form placement needs a form-encoded body, got {got}",
                )
            body = ""
            oauth_headers["Content-Type"] = FORM_CONTENT_TYPE
        failure: str | None = None
        try:
            signed_uri, signed_headers, signed_body = self._client().sign(
                str(url), http_method=method, body=body, headers=oauth_headers
            )
        except ValueError as exc:
            failure = _rule(exc)
        if failure is not None:
            # Raised outside the except block so oauthlib's message (which may quote the body)
            # is not even kept as __context__.
            raise ValidationError(
                "body", "oauth1_signable", f"body: the request cannot be signed ({failure})"
            )
        request.url = httpx2.URL(signed_uri)
        if self.placement is Placement.HEADER:
            request.headers["Authorization"] = signed_headers["Authorization"]
            return request
        if self.placement is Placement.QUERY:
            return request
        headers = httpx2.Headers(request.headers)
        for name in ("content-length", "transfer-encoding"):
            if name in headers:
                del headers[name]
        if not form:
            headers["Content-Type"] = FORM_CONTENT_TYPE
        return httpx2.Request(
            request.method,
            request.url,
            headers=headers,
            content=signed_body.encode("utf-8"),
            extensions=request.extensions,
        )

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        yield self.sign(request)


def _rule(exc: ValueError) -> str:
    text = str(exc)
    if "GET/HEAD" in text:
        return "a GET or HEAD request cannot carry a form body"
    if "formencoded" in text or "non urlencoded" in text:
        return "the form body is not valid form encoding"
    return "unsupported body"


def request_token_auth(
    consumer_key: str,
    consumer_secret: str,
    callback_uri: str,
    placement: Placement | str = Placement.HEADER,
    realm: str | None = None,
    **options: Any,
) -> OAuth1Auth:
    """The Auth for the temporary-credentials request (RFC 5849 §2.1): signs ``oauth_callback``."""
    return OAuth1Auth(
        consumer_key,
        consumer_secret,
        None,
        None,
        placement,
        realm,
        callback_uri=callback_uri,
        **options,
    )


def access_token_auth(
    consumer_key: str,
    consumer_secret: str,
    request_token: str,
    request_token_secret: str,
    verifier: str,
    placement: Placement | str = Placement.HEADER,
    realm: str | None = None,
    **options: Any,
) -> OAuth1Auth:
    """The Auth for the token request (RFC 5849 §2.3): temporary credentials and verifier."""
    return OAuth1Auth(
        consumer_key,
        consumer_secret,
        request_token,
        request_token_secret,
        placement,
        realm,
        verifier=verifier,
        **options,
    )


def _collected_params(request: httpx2.Request) -> list[tuple[str, str]]:
    body = request.content.decode("utf-8") if is_form_request(request) else None
    headers = {}
    auth = request.headers.get("authorization")
    if auth is not None and auth[:6].lower() == "oauth ":
        headers["Authorization"] = auth
    params: list[tuple[str, str]] = _signature.collect_parameters(
        uri_query=request.url.query.decode("ascii"),
        body=body,
        headers=headers,
        exclude_oauth_signature=True,
        with_realm=False,
    )
    return params


def signature_base_string(request: httpx2.Request) -> str:
    """The RFC 5849 §3.4.1 base string of a request as sent (or received); body must be read."""
    normalized = _signature.normalize_parameters(_collected_params(request))
    uri = _signature.base_string_uri(str(request.url.copy_with(query=None, fragment=None)))
    return str(_signature.signature_base_string(request.method.upper(), uri, normalized))


def _received_signature(request: httpx2.Request) -> str | None:
    body = request.content.decode("utf-8") if is_form_request(request) else None
    headers = {}
    auth = request.headers.get("authorization")
    if auth is not None and auth[:6].lower() == "oauth ":
        headers["Authorization"] = auth
    every: list[tuple[str, str]] = _signature.collect_parameters(
        uri_query=request.url.query.decode("ascii"),
        body=body,
        headers=headers,
        exclude_oauth_signature=False,
    )
    found = [v for k, v in every if k == "oauth_signature"]
    return found[0] if len(found) == 1 else None


def verify_hmac_sha1(request: httpx2.Request, consumer_secret: str, token_secret: str) -> bool:
    """True when the request's ``oauth_signature`` is the HMAC-SHA1 of its base string."""
    received = _received_signature(request)
    if received is None:
        return False
    return hmac.compare_digest(
        hmac_sha1_signature(signature_base_string(request), consumer_secret, token_secret).encode(),
        received.encode(),
    )


def hmac_sha1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    """RFC 5849 §3.4.2: base64 HMAC-SHA1 of the base string, key ``enc(cs)&enc(ts)``."""
    key = f"{quote(consumer_secret, safe='~')}&{quote(token_secret, safe='~')}"
    digest = hmac.new(key.encode("utf-8"), base_string.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
