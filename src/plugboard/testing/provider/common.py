"""What every endpoint of the test provider shares: constants, the refusal, the call note and
small HTTP helpers.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plugboard.testing.provider_state import ProviderState

REALM = "plugboard-test-provider"
FORM = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class Refusal(Exception):
    """Ends a request with ``response``; ``error`` is what the call log records."""

    def __init__(self, response: Response, error: str) -> None:
        super().__init__(error)
        self.response = response
        self.error = error


@dataclass(slots=True)
class Note:
    """What a handler learned about a request, for its :class:`Call` record."""

    client_id: str | None = None
    client_auth: str | None = None
    grant_type: str | None = None
    token_type_hint: str | None = None
    token_kind: str | None = None
    placement: str | None = None
    account: str | None = None
    scope: str | None = None
    canned: bool = False


# Every handler gets the provider's state; create_provider_app binds it per route.
Handler = Callable[[ProviderState, Request, Note], Awaitable[Response]]


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def read_form(request: Request, body: bytes) -> list[tuple[str, str]] | None:
    """The form fields of a form-encoded body, or None for any other body."""
    if media_type(request) != FORM:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(oauth_error("invalid_request", "the form is not UTF-8"), "bad_form") from None
    return parse_qsl(text, keep_blank_values=True)


def single(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    """A parameter that may appear at most once (RFC 6749 §3.1, §3.2)."""
    values = [value for key, value in pairs if key == name]
    if len(values) > 1:
        raise Refusal(oauth_error("invalid_request", f"{name} is repeated"), "invalid_request")
    return values[0] if values else None


def with_params(uri: str, params: Sequence[tuple[str, str]]) -> str:
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def oauth_error(
    error: str, description: str, status: int = 400, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An RFC 6749 §5.2 error response."""
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic`` header, None when there is none."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")  # present but malformed: fails like a wrong password
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else ("", "")


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
