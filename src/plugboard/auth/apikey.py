"""API key injection (SPEC §2 "API Key"), and the placement helpers every auth type shares.

A service's API key parameters each name a placement (``query``, ``form`` or ``header``), the
parameter name the API expects, and optionally a prefix put before the value (``"Bearer "``).

``Placement`` and the ``with_*`` helpers live here because API keys are the most general user
of "put this parameter there"; Bearer and OAuth 1 import them.

Form placement rebuilds the request body as ``application/x-www-form-urlencoded`` (the existing
form fields first, then ours) with a correct Content-Length. A request that already carries a
body of another type, or a GET/HEAD request, cannot take a form parameter: that is a
ValidationError naming the parameter, raised before anything is sent.
"""

from __future__ import annotations

import enum
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import httpx2

from plugboard.errors import ValidationError

__all__ = [
    "ApiKeyAuth",
    "ApiKeyParameter",
    "FORM_CONTENT_TYPE",
    "Placement",
    "is_form_request",
    "media_type",
    "with_form_params",
    "with_header",
    "with_query_params",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_NO_FORM_BODY_METHODS = frozenset({"GET", "HEAD"})


class Placement(enum.StrEnum):
    """Where a credential parameter goes (the "param type" of SPEC §2)."""

    QUERY = "query"
    FORM = "form"
    HEADER = "header"


@dataclass(frozen=True, slots=True)
class ApiKeyParameter:
    """One API key parameter. ``value`` is secret: it is left out of the repr."""

    placement: Placement
    name: str
    value: str = field(repr=False)
    prefix: str = ""

    def rendered(self) -> str:
        return f"{self.prefix}{self.value}"


def media_type(request: httpx2.Request) -> str:
    """The request's Content-Type without parameters, lower-cased ("" when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_form_request(request: httpx2.Request) -> bool:
    return media_type(request) == FORM_CONTENT_TYPE


def with_query_params(request: httpx2.Request, params: Sequence[tuple[str, str]]) -> None:
    """Set ``params`` in the request's query string (in place), replacing same-named ones.

    Replacing (not appending) keeps a re-applied credential single, as after a token refresh.
    """
    url = request.url
    for name in {name for name, _ in params}:
        url = url.copy_remove_param(name)
    for name, value in params:
        url = url.copy_add_param(name, value)
    request.url = url


def with_header(request: httpx2.Request, name: str, value: str) -> None:
    """Set header ``name`` (replacing any value the caller set), in place."""
    request.headers[name] = value


def with_form_params(
    request: httpx2.Request, params: Sequence[tuple[str, str]], field_name: str
) -> httpx2.Request:
    """A copy of ``request`` whose form body also carries ``params``.

    The request body must already have been read (``requires_request_body = True``). A body
    that is not form-encoded, or a GET/HEAD request, raises ValidationError(field=field_name).
    """
    body = request.content
    if request.method.upper() in _NO_FORM_BODY_METHODS:
        raise ValidationError(
            field_name,
            "form_body",
            f"{field_name}: a form parameter cannot be sent with a {request.method} request",
        )
    if body and not is_form_request(request):
        raise ValidationError(
            field_name,
            "form_body",
            f"{field_name}: a form parameter needs an {FORM_CONTENT_TYPE} body, "
            f"but the request has a {media_type(request) or 'untyped'} body",
        )
    try:
        existing = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise ValidationError(
            field_name, "form_body", f"{field_name}: the form body is not UTF-8"
        ) from None
    new_body = urlencode([*existing, *params]).encode("ascii")
    headers = httpx2.Headers(request.headers)
    for name in ("content-length", "transfer-encoding"):
        if name in headers:
            del headers[name]
    if not is_form_request(request):
        headers["Content-Type"] = FORM_CONTENT_TYPE
    return httpx2.Request(
        request.method,
        request.url,
        headers=headers,
        content=new_body,
        extensions=request.extensions,
    )


class ApiKeyAuth(httpx2.Auth):
    """Injects one or more API key parameters into every request."""

    def __init__(self, parameters: Sequence[ApiKeyParameter]) -> None:
        if not parameters:
            raise ValidationError("parameters", "non_empty", "parameters: at least one is needed")
        self._parameters = tuple(parameters)
        self.requires_request_body = any(p.placement == Placement.FORM for p in parameters)
        # Rendered once: every request applies the same values.
        self._query = [(p.name, p.rendered()) for p in parameters if p.placement == Placement.QUERY]
        self._form = [(p.name, p.rendered()) for p in parameters if p.placement == Placement.FORM]
        self._headers = [
            (p.name, p.rendered()) for p in parameters if p.placement == Placement.HEADER
        ]

    def __repr__(self) -> str:
        names = ", ".join(f"{p.placement}:{p.name}" for p in self._parameters)
        return f"ApiKeyAuth([{names}])"

    def header_values(self) -> list[tuple[str, str]] | None:
        """The (name, value) headers this key sets, when it sets nothing else (None
        otherwise): a sender may then put them on the request as it builds it."""
        return None if self._query or self._form else list(self._headers)

    def apply(self, request: httpx2.Request) -> httpx2.Request:
        """The request with every parameter applied (may be a new Request for form bodies)."""
        if self._query:
            with_query_params(request, self._query)
        for name, value in self._headers:
            with_header(request, name, value)
        if self._form:
            request = with_form_params(request, self._form, f"parameters.{self._form[0][0]}")
        return request

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        yield self.apply(request)
