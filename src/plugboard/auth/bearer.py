"""OAuth 2 access-token injection (SPEC §2 "OAuth 2", §7 step 3).

``Authorization: Bearer <token>`` by default; the service's param type can instead put the token
in the query or in a form body (RFC 6750 §2.2/§2.3) under ``param_name``.

Only injection lives here. Refresh-and-retry belongs to a subclass that overrides
:meth:`BearerAuth.auth_flow`, calls :meth:`BearerAuth.apply` with the current token, and on a 401
refreshes once and yields ``apply`` again; the token is read through :meth:`current_token` so a
subclass can swap it without touching the rest.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx2

from plugboard.auth.apikey import Placement, with_form_params, with_header, with_query_params

__all__ = ["BearerAuth"]


class BearerAuth(httpx2.Auth):
    """Puts an OAuth 2 access token on every request."""

    def __init__(
        self,
        access_token: str,
        placement: Placement | str = Placement.HEADER,
        param_name: str = "access_token",
    ) -> None:
        self._access_token = access_token
        self.placement = Placement(placement)
        self.param_name = param_name
        self.requires_request_body = self.placement is Placement.FORM

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(access_token=<redacted>, placement={self.placement.value!r}, "
            f"param_name={self.param_name!r})"
        )

    def current_token(self) -> str:
        """The token to send now. Subclasses that refresh override this."""
        return self._access_token

    def apply(self, request: httpx2.Request, token: str | None = None) -> httpx2.Request:
        """The request with ``token`` (default: :meth:`current_token`) applied.

        May return a new Request (form placement rebuilds the body); always use the return value.
        """
        token = self.current_token() if token is None else token
        if self.placement is Placement.HEADER:
            with_header(request, "Authorization", f"Bearer {token}")
            return request
        if self.placement is Placement.QUERY:
            with_query_params(request, [(self.param_name, token)])
            return request
        return with_form_params(request, [(self.param_name, token)], "param_type")

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        yield self.apply(request)
