from __future__ import annotations

from collections.abc import Generator
from urllib.parse import parse_qs

import httpx2
import pytest

from plugboard.auth.apikey import Placement
from plugboard.auth.bearer import BearerAuth
from plugboard.errors import ValidationError

TOKEN = "ya29.a0-access-token"


def resource_server(where: str, param: str = "access_token") -> object:
    """Accepts the token only where RFC 6750 §2.1–2.3 puts it for ``where``."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if where == "header":
            ok = request.headers.get("Authorization") == f"Bearer {TOKEN}"
        elif where == "query":
            ok = request.url.params.get_list(param) == [TOKEN]
        else:
            ok = parse_qs(request.content.decode()).get(param) == [TOKEN]
        return httpx2.Response(200 if ok else 401)

    return handler


def test_token_goes_in_the_authorization_header_by_default(send) -> None:
    response = send(BearerAuth(TOKEN), resource_server("header"), "GET", "https://api.x.com/")
    assert response.status_code == 200


def test_token_goes_in_the_query_under_the_configured_name(send) -> None:
    auth = BearerAuth(TOKEN, Placement.QUERY, param_name="oauth_token")
    response = send(auth, resource_server("query", "oauth_token"), "GET", "https://api.x.com/")
    assert response.status_code == 200


def test_token_goes_in_a_form_body(send) -> None:
    auth = BearerAuth(TOKEN, "form")
    response = send(auth, resource_server("form"), "POST", "https://api.x.com/", data={"a": "b"})
    assert response.status_code == 200


def test_form_placement_refuses_a_json_body(send) -> None:
    with pytest.raises(ValidationError):
        send(BearerAuth(TOKEN, "form"), resource_server("form"), "POST", "https://x/", json={})


class RefreshingBearer(BearerAuth):
    """What a refreshing subclass looks like: on 401, swap the token and re-apply once."""

    def __init__(self, stale: str, fresh: str) -> None:
        super().__init__(stale, Placement.QUERY)
        self.fresh = fresh

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        response = yield self.apply(request)
        if response.status_code == 401:
            yield self.apply(request, self.fresh)


def test_reapplying_a_token_replaces_it_instead_of_adding_a_second_one(send) -> None:
    sent: list[list[str]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.url.params.get_list("access_token"))
        return resource_server("query")(request)  # type: ignore[operator]

    response = send(RefreshingBearer("stale", TOKEN), handler, "GET", "https://api.x.com/")
    assert response.status_code == 200
    assert sent == [["stale"], [TOKEN]]
