"""RFC 5849's worked examples (§1.2, §3.4.1) through plugboard.auth.oauth1.

Per the vector file's description: ``params`` are the decoded parameters, the expected signature
is raw base64, and the signing key is enc(consumer_secret)&enc(token_secret). The §1.2 examples
omit ``oauth_version``, so they are signed with ``send_version=False``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import httpx2
import pytest

from plugboard.auth.oauth1 import (
    OAuth1Auth,
    access_token_auth,
    hmac_sha1_signature,
    request_token_auth,
    signature_base_string,
)

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "oauth1_rfc5849.json").read_text(encoding="utf-8")
)["vectors"]


def signed(vector: dict[str, Any], consumer_secret: str, token_secret: str) -> httpx2.Request:
    params = dict(vector["params"])
    options: dict[str, Any] = {
        "nonce": lambda: params["oauth_nonce"],
        "clock": lambda: int(params["oauth_timestamp"]),
        "send_version": False,
    }
    key, realm = vector["consumer_key"], vector["realm"]
    if "oauth_callback" in params:
        auth = request_token_auth(
            key, consumer_secret, params["oauth_callback"], realm=realm, **options
        )
    elif "oauth_verifier" in params:
        auth = access_token_auth(
            key,
            consumer_secret,
            vector["token"],
            token_secret,
            params["oauth_verifier"],
            realm=realm,
            **options,
        )
    else:
        auth = OAuth1Auth(
            key, consumer_secret, vector["token"], token_secret, realm=realm, **options
        )
    headers, content = {}, None
    if vector.get("raw_body"):
        headers["Content-Type"] = vector["content_type"]
        content = vector["raw_body"].encode()
    request = httpx2.Request(
        vector["method"], vector["request_url"], headers=headers, content=content
    )
    request.read()
    return auth.sign(request)


def header_params(request: httpx2.Request) -> dict[str, str]:
    value = request.headers["authorization"].removeprefix("OAuth ")
    pairs = (item.strip().split("=", 1) for item in value.split(","))
    return {k: v.strip('"') for k, v in pairs}


def secrets_of(vector: dict[str, Any]) -> tuple[str, str]:
    # §3.4.1 prints no secrets: any will do, since it checks the base string, and the signature
    # is then checked against the HMAC of the *expected* base string.
    return vector["consumer_secret"] or "kd94hf93k423kf44", vector["token_secret"] or ""


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["id"])
def test_base_string_matches_rfc(vector: dict[str, Any]) -> None:
    request = signed(vector, *secrets_of(vector))
    assert signature_base_string(request) == vector["expected_signature_base_string"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["id"])
def test_signature_is_the_hmac_of_the_rfc_base_string(vector: dict[str, Any]) -> None:
    consumer_secret, token_secret = secrets_of(vector)
    request = signed(vector, consumer_secret, token_secret)
    expected = hmac_sha1_signature(
        vector["expected_signature_base_string"], consumer_secret, token_secret
    )
    assert header_params(request)["oauth_signature"] == quote(expected, safe="")


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if v["expected_signature"]], ids=lambda v: v["id"]
)
def test_signature_matches_rfc(vector: dict[str, Any]) -> None:
    request = signed(vector, vector["consumer_secret"], vector["token_secret"])
    assert header_params(request)["oauth_signature"] == quote(vector["expected_signature"], safe="")


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["id"])
def test_realm_is_sent_but_not_signed(vector: dict[str, Any]) -> None:
    request = signed(vector, *secrets_of(vector))
    assert header_params(request)["realm"] == vector["realm"]
    assert "realm" not in vector["expected_signature_base_string"]


def test_json_body_is_preserved_byte_for_byte_and_not_signed() -> None:
    body = b'{"z": [1, 2],\n "a": "b=c&d"}'
    auth = OAuth1Auth("ck", "cs", "tk", "ts", nonce=lambda: "n", clock=lambda: 1)
    request = httpx2.Request(
        "POST",
        "https://api.example.com/items",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    request.read()
    out = auth.sign(request)
    assert out.content == body
    assert signature_base_string(out) == (
        "POST&https%3A%2F%2Fapi.example.com%2Fitems&oauth_consumer_key%3Dck%26oauth_nonce%3Dn"
        "%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1%26oauth_token%3Dtk"
        "%26oauth_version%3D1.0"
    )


def test_form_body_parameters_are_in_the_signature() -> None:
    auth = OAuth1Auth("ck", "cs", "tk", "ts", nonce=lambda: "n", clock=lambda: 1)
    request = httpx2.Request("POST", "https://api.example.com/items", data={"status": "a b"})
    request.read()
    out = auth.sign(request)
    base = signature_base_string(out)
    assert "status%3Da%2520b" in base
    expected = hmac_sha1_signature(base, "cs", "ts")
    assert header_params(out)["oauth_signature"] == quote(expected, safe="")
    assert parse_qs(out.content.decode()) == {"status": ["a b"]}
