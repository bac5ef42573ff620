from __future__ import annotations

import logging
from urllib.parse import parse_qs

import httpx2
import pytest
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature

from plugboard.auth.oauth1 import (
    OAuth1Auth,
    access_token_auth,
    request_token_auth,
    verify_hmac_sha1,
)
from plugboard.errors import ValidationError

CONSUMER_KEY, CONSUMER_SECRET = "consumer-key-1", "consumer-s3cret"
TOKEN, TOKEN_SECRET = "token-abc", "token-s3cret"


def oauth_params(request: httpx2.Request) -> list[tuple[str, str]]:
    form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    headers = {}
    if request.headers.get("authorization", "").startswith("OAuth "):
        headers["Authorization"] = request.headers["authorization"]
    params: list[tuple[str, str]] = oauthlib_signature.collect_parameters(
        uri_query=request.url.query.decode(),
        body=request.content.decode() if form else None,
        headers=headers,
        exclude_oauth_signature=False,
    )
    return params


def oauthlib_accepts(request: httpx2.Request, consumer_secret: str, token_secret: str) -> bool:
    """The provider side, with oauthlib's own verify_hmac_sha1 (independent of our module)."""
    params = oauth_params(request)
    signatures = [v for k, v in params if k == "oauth_signature"]
    if len(signatures) != 1:
        return False
    received = OAuthlibRequest(str(request.url), request.method)
    received.params = [(k, v) for k, v in params if k != "oauth_signature"]
    received.signature = signatures[0]
    return bool(oauthlib_signature.verify_hmac_sha1(received, consumer_secret, token_secret))


def provider(consumer_secret: str = CONSUMER_SECRET, token_secret: str = TOKEN_SECRET) -> object:
    def handler(request: httpx2.Request) -> httpx2.Response:
        ok = oauthlib_accepts(request, consumer_secret, token_secret)
        return httpx2.Response(200 if ok else 401)

    return handler


def auth(placement: str = "header", **kwargs: object) -> OAuth1Auth:
    return OAuth1Auth(CONSUMER_KEY, CONSUMER_SECRET, TOKEN, TOKEN_SECRET, placement, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("placement", ["header", "query", "form"])
def test_signed_request_is_accepted_by_oauthlib_verifier(send, placement: str) -> None:
    response = send(auth(placement), provider(), "POST", "https://api.x.com/1/items?page=2")
    assert response.status_code == 200


def test_wrong_consumer_secret_is_rejected_by_the_same_verifier(send) -> None:
    response = send(auth(), provider(consumer_secret="other"), "GET", "https://api.x.com/")
    assert response.status_code == 401


def test_header_placement_puts_realm_and_signature_in_authorization(send) -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["authorization"])
        return httpx2.Response(200)

    send(auth(realm="Photos"), handler, "GET", "https://api.x.com/")
    assert seen[0].startswith('OAuth realm="Photos", ')
    assert "oauth_signature=" in seen[0]


def test_query_placement_puts_oauth_parameters_in_the_query(send) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200)

    send(auth("query"), handler, "GET", "https://api.x.com/?q=1")
    assert seen[0].url.params["oauth_token"] == TOKEN
    assert "authorization" not in seen[0].headers


def test_form_placement_keeps_the_callers_form_fields(send) -> None:
    seen: list[dict[str, list[str]]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(parse_qs(request.content.decode()))
        return provider()(request)  # type: ignore[operator]

    response = send(auth("form"), handler, "POST", "https://api.x.com/", data={"status": "hi!"})
    assert response.status_code == 200
    assert seen[0]["status"] == ["hi!"]
    assert seen[0]["oauth_consumer_key"] == [CONSUMER_KEY]


def test_form_body_parameters_are_part_of_the_signature(send) -> None:
    def tampering_provider(request: httpx2.Request) -> httpx2.Response:
        tampered = httpx2.Request(
            request.method,
            request.url,
            headers={k: v for k, v in request.headers.items() if k != "content-length"},
            content=request.content.replace(b"amount=10", b"amount=99"),
        )
        ok = oauthlib_accepts(request, CONSUMER_SECRET, TOKEN_SECRET)
        tampered_ok = oauthlib_accepts(tampered, CONSUMER_SECRET, TOKEN_SECRET)
        return httpx2.Response(200 if ok and not tampered_ok else 500)

    response = send(auth(), tampering_provider, "POST", "https://x.com/", data={"amount": "10"})
    assert response.status_code == 200


def test_json_body_is_sent_unchanged_and_verifies_without_it(send) -> None:
    body = b'{"b": 1,  "a": "x=y&z"}'
    seen: list[bytes] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.content)
        return provider()(request)  # type: ignore[operator]

    response = send(
        auth(),
        handler,
        "POST",
        "https://x.com/",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert seen == [body]


def test_plain_text_body_that_looks_like_a_form_is_not_signed(send) -> None:
    response = send(
        auth(),
        provider(),
        "POST",
        "https://x.com/",
        content=b"hello",
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 200


def test_form_placement_refuses_a_json_body(send) -> None:
    with pytest.raises(ValidationError) as caught:
        send(auth("form"), provider(), "POST", "https://x.com/", json={"a": 1})
    assert caught.value.field == "param_type"


def test_form_placement_refuses_a_get_request(send) -> None:
    with pytest.raises(ValidationError):
        send(auth("form"), provider(), "GET", "https://x.com/")


def test_query_with_reserved_characters_is_signed_as_sent(send) -> None:
    response = send(auth(), provider(), "GET", "https://x.com/s?q=a+b&f=$x,y&e=caf%C3%A9")
    assert response.status_code == 200


def test_each_request_gets_a_fresh_nonce(send) -> None:
    nonces: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        nonces.extend(v for k, v in oauth_params(request) if k == "oauth_nonce")
        return httpx2.Response(200)

    signer = auth()
    send(signer, handler, "GET", "https://x.com/")
    send(signer, handler, "GET", "https://x.com/")
    assert len(set(nonces)) == 2


def test_request_token_request_signs_the_callback(send) -> None:
    seen: list[list[tuple[str, str]]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(oauth_params(request))
        ok = oauthlib_accepts(request, CONSUMER_SECRET, "")
        return httpx2.Response(200 if ok else 401)

    signer = request_token_auth(CONSUMER_KEY, CONSUMER_SECRET, "https://pb.example/cb?s=1")
    response = send(signer, handler, "POST", "https://provider.example/oauth/request_token")
    assert response.status_code == 200
    assert ("oauth_callback", "https://pb.example/cb?s=1") in seen[0]
    assert not any(k == "oauth_token" for k, _ in seen[0])


def test_access_token_request_signs_the_verifier(send) -> None:
    seen: list[list[tuple[str, str]]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(oauth_params(request))
        ok = oauthlib_accepts(request, CONSUMER_SECRET, "req-secret")
        return httpx2.Response(200 if ok else 401)

    signer = access_token_auth(CONSUMER_KEY, CONSUMER_SECRET, "req-token", "req-secret", "v3r")
    response = send(signer, handler, "POST", "https://provider.example/oauth/access_token")
    assert response.status_code == 200
    assert ("oauth_verifier", "v3r") in seen[0]
    assert ("oauth_token", "req-token") in seen[0]


def test_our_verifier_agrees_with_oauthlib_on_a_signed_request() -> None:
    request = httpx2.Request("POST", "https://x.com/a?b=c", data={"d": "e f"})
    request.read()
    signed = auth().sign(request)
    assert verify_hmac_sha1(signed, CONSUMER_SECRET, TOKEN_SECRET)
    assert not verify_hmac_sha1(signed, CONSUMER_SECRET, "wrong")


def test_oauthlib_debug_logs_never_carry_the_token(send, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        send(auth(), provider(), "POST", "https://x.com/", data={"a": "b"})
    for record in caplog.records:
        text = record.getMessage()
        assert TOKEN not in text and TOKEN_SECRET not in text and CONSUMER_SECRET not in text
