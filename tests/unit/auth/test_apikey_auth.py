from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx2
import pytest

from plugboard.auth.apikey import ApiKeyAuth, ApiKeyParameter, Placement
from plugboard.errors import ValidationError

KEY = "k3y-s3cret-value"


def service(check: str) -> object:
    """A service that answers 200 only when the key arrives where ``check`` says."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if check == "query":
            ok = request.url.params.get("api_key") == KEY
        elif check == "header":
            ok = request.headers.get("X-Api-Key") == KEY
        elif check == "prefixed-header":
            ok = request.headers.get("Authorization") == f"Token {KEY}"
        else:
            ok = (
                request.headers["content-type"].startswith("application/x-www-form-urlencoded")
                and parse_qs(request.content.decode())["api_key"] == [KEY]
                and int(request.headers["content-length"]) == len(request.content)
            )
        return httpx2.Response(200 if ok else 401)

    return handler


def test_query_parameter_is_added_to_the_url(send) -> None:
    auth = ApiKeyAuth([ApiKeyParameter(Placement.QUERY, "api_key", KEY)])
    response = send(auth, service("query"), "GET", "https://api.example.com/v1?x=1")
    assert response.status_code == 200


def test_query_parameter_keeps_existing_query(send) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200)

    auth = ApiKeyAuth([ApiKeyParameter(Placement.QUERY, "api_key", KEY)])
    send(auth, handler, "GET", "https://api.example.com/v1?x=1&y=2")
    assert seen[0].url.params.multi_items() == [("x", "1"), ("y", "2"), ("api_key", KEY)]


def test_header_parameter_is_set(send) -> None:
    auth = ApiKeyAuth([ApiKeyParameter(Placement.HEADER, "X-Api-Key", KEY)])
    assert send(auth, service("header"), "GET", "https://api.example.com/").status_code == 200


def test_header_parameter_carries_its_prefix(send) -> None:
    auth = ApiKeyAuth([ApiKeyParameter(Placement.HEADER, "Authorization", KEY, prefix="Token ")])
    response = send(auth, service("prefixed-header"), "GET", "https://api.example.com/")
    assert response.status_code == 200


def test_form_parameter_is_added_to_an_existing_form_body(send) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return service("form")(request)  # type: ignore[operator]

    auth = ApiKeyAuth([ApiKeyParameter(Placement.FORM, "api_key", KEY)])
    response = send(auth, handler, "POST", "https://api.example.com/", data={"to": "+1 555"})
    assert response.status_code == 200
    assert parse_qs(seen[0].content.decode())["to"] == ["+1 555"]


def test_form_parameter_creates_a_form_body_when_there_is_none(send) -> None:
    auth = ApiKeyAuth([ApiKeyParameter(Placement.FORM, "api_key", KEY)])
    assert send(auth, service("form"), "POST", "https://api.example.com/").status_code == 200


def test_form_parameter_refuses_a_json_body_naming_the_parameter(send) -> None:
    auth = ApiKeyAuth([ApiKeyParameter(Placement.FORM, "api_key", KEY)])
    with pytest.raises(ValidationError) as caught:
        send(auth, service("form"), "POST", "https://api.example.com/", json={"a": 1})
    assert caught.value.field == "parameters.api_key"
    assert KEY not in str(caught.value)


def test_form_parameter_refuses_a_get_request(send) -> None:
    auth = ApiKeyAuth([ApiKeyParameter(Placement.FORM, "api_key", KEY)])
    with pytest.raises(ValidationError, match="GET"):
        send(auth, service("form"), "GET", "https://api.example.com/")


def test_several_parameters_in_different_places_are_all_applied(send) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200)

    auth = ApiKeyAuth(
        [
            ApiKeyParameter(Placement.QUERY, "account", "acct-1"),
            ApiKeyParameter(Placement.HEADER, "X-Api-Key", KEY),
            ApiKeyParameter(Placement.FORM, "signature", "sig"),
        ]
    )
    send(auth, handler, "PUT", "https://api.example.com/", data={"a": "b"})
    request = seen[0]
    assert request.url.params["account"] == "acct-1"
    assert request.headers["X-Api-Key"] == KEY
    assert parse_qs(request.content.decode()) == {"a": ["b"], "signature": ["sig"]}


def test_json_body_is_untouched_by_header_placement(send) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200)

    auth = ApiKeyAuth([ApiKeyParameter(Placement.HEADER, "X-Api-Key", KEY)])
    send(auth, handler, "POST", "https://api.example.com/", json={"a": [1, 2]})
    assert json.loads(seen[0].content) == {"a": [1, 2]}


def test_an_empty_parameter_list_is_refused() -> None:
    with pytest.raises(ValidationError):
        ApiKeyAuth([])
