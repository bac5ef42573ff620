"""Credentials never reach third-party libraries' logs: httpx2's request line loses its query,
oauthlib's DEBUG records (base strings, parameters) are dropped, once anything that sends a
credential has been built."""

from __future__ import annotations

import logging

import httpx2
import pytest

from plugboard.auth.oauth1 import OAuth1Auth
from plugboard.auth.outbound import OutboundPolicy, guarded_client

SECRET = "k3y-in-the-query-8d1f"


def _ok(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, text="ok")


def test_httpx2_logs_no_query_once_a_guarded_client_exists(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guarded_client(OutboundPolicy()).close()
    caplog.set_level(logging.INFO, logger="httpx2")
    with httpx2.Client(transport=httpx2.MockTransport(_ok)) as app_client:
        app_client.get(f"https://api.example.com/v1/things?api_key={SECRET}")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("httpx2")]
    assert any("https://api.example.com/v1/things?[query redacted]" in line for line in lines)
    assert not any(SECRET in line for line in lines)


def test_oauthlib_debug_records_are_dropped_once_an_oauth1_signer_exists(
    caplog: pytest.LogCaptureFixture,
) -> None:
    auth = OAuth1Auth("consumer", "consumer-secret", "token", SECRET)
    caplog.set_level(logging.DEBUG)
    request = httpx2.Request("GET", "https://api.example.com/v1/me?x=1")
    next(auth.auth_flow(request))
    assert request.headers["Authorization"].startswith("OAuth ")
    leaked = [r for r in caplog.records if r.name.startswith("oauthlib")]
    assert leaked == []
