from __future__ import annotations

import base64

import httpx2
import pytest

from plugboard.auth.basic import BasicAuth
from plugboard.errors import ValidationError


def basic_service(username: str, password: str) -> object:
    """Decodes the Authorization header as an HTTP server would (RFC 7617)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Basic":
            return httpx2.Response(401)
        user, _, secret = base64.b64decode(token).decode("utf-8").partition(":")
        return httpx2.Response(200 if (user, secret) == (username, password) else 401)

    return handler


def test_basic_credentials_are_accepted_by_a_decoding_server(send) -> None:
    auth = BasicAuth("alice", "p:ss wörd")
    response = send(auth, basic_service("alice", "p:ss wörd"), "GET", "https://api.example.com/")
    assert response.status_code == 200


def test_wrong_password_is_rejected_by_the_same_server(send) -> None:
    auth = BasicAuth("alice", "wrong")
    response = send(auth, basic_service("alice", "right"), "GET", "https://api.example.com/")
    assert response.status_code == 401


def test_a_username_with_a_colon_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        BasicAuth("a:b", "pw")
    assert caught.value.field == "username"
