"""No key, secret, token or password in a repr or in the message of an error we raise."""

from __future__ import annotations

import httpx2
import pytest

from plugboard.auth.apikey import ApiKeyAuth, ApiKeyParameter, Placement
from plugboard.auth.basic import BasicAuth
from plugboard.auth.bearer import BearerAuth
from plugboard.auth.oauth1 import OAuth1Auth
from plugboard.auth.sigv4 import SigV4Auth
from plugboard.errors import PlugboardError

SECRETS = ["S3CRET-key", "S3CRET-secret", "S3CRET-token", "S3CRET-tsecret", "S3CRET-pw"]


def every_auth() -> list[httpx2.Auth]:
    key, secret, token, token_secret, password = SECRETS
    return [
        ApiKeyAuth(
            [
                ApiKeyParameter(Placement.HEADER, "X-Key", key),
                ApiKeyParameter(Placement.FORM, "k", secret),
            ]
        ),
        BasicAuth("alice", password),
        BearerAuth(token, "form"),
        OAuth1Auth(key, secret, token, token_secret, "form"),
        SigV4Auth(key, secret, "us-east-1", "sqs", session_token=token),
    ]


@pytest.mark.parametrize("auth", every_auth(), ids=lambda a: type(a).__name__)
def test_repr_holds_no_secret(auth: httpx2.Auth) -> None:
    text = repr(auth)
    assert not [s for s in SECRETS if s in text]


def test_api_key_parameter_repr_holds_no_value() -> None:
    assert "S3CRET" not in repr(ApiKeyParameter(Placement.QUERY, "key", "S3CRET-key"))


FORM_PLACED = [a for a in every_auth() if not isinstance(a, BasicAuth | SigV4Auth)]


@pytest.mark.parametrize("auth", FORM_PLACED, ids=lambda a: type(a).__name__)
def test_errors_raised_while_applying_hold_no_secret(auth: httpx2.Auth) -> None:
    """A form placement on a JSON body that itself holds a secret-like value fails cleanly."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200)

    with httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth) as client:
        with pytest.raises(PlugboardError) as caught:
            client.post("https://x.com/?q=S3CRET-token", json={"password": "S3CRET-pw"})
    error = caught.value
    text = f"{error} {error.to_dict()} {error.__cause__} {error.__context__}"
    assert not [s for s in SECRETS if s in text]


def test_oauth1_unsignable_form_body_error_holds_no_body() -> None:
    auth = OAuth1Auth("S3CRET-key", "S3CRET-secret", "S3CRET-token", "S3CRET-tsecret")

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200)

    with httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth) as client:
        with pytest.raises(PlugboardError) as caught:
            client.post(
                "https://x.com/",
                content=b"pw=S3CRET-pw&bad=\x00<>",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
    error = caught.value
    assert error.__context__ is None
    assert "S3CRET" not in str(error)
