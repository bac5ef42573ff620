"""OAuth2Auth's flow stepped by hand with a MockTransport and an in-memory TokenSource: refresh
before expiry, once on a rejection, and never twice."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest

from plugboard.auth.oauth2 import AccessToken, OAuth2Auth, RefreshReason
from plugboard.domain.service import ExpirySignals


class Tokens:
    def __init__(self, token: str, *, stale: bool = False) -> None:
        self.token = AccessToken(token)
        self.stale = stale
        self.refreshes: list[RefreshReason] = []

    def current(self) -> AccessToken:
        return self.token

    def needs_refresh(self, token: AccessToken) -> bool:
        return self.stale

    def refresh(self, token: AccessToken, reason: RefreshReason) -> AccessToken:
        self.refreshes.append(reason)
        self.token = AccessToken(f"fresh{len(self.refreshes)}")
        self.stale = False
        return self.token

    async def arefresh(self, token: AccessToken, reason: RefreshReason) -> AccessToken:
        return self.refresh(token, reason)


class Upstream:
    """Accepts only the listed tokens; answers others with `status` and `body`."""

    def __init__(self, valid: set[str], status: int = 401, body: str = "") -> None:
        self.valid, self.status, self.body = valid, status, body
        self.seen: list[str] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        self.seen.append(token)
        if token in self.valid:
            return httpx2.Response(200, json={"ok": True})
        return httpx2.Response(self.status, text=self.body)


@pytest.fixture(params=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Any:
    def _send(auth: httpx2.Auth, upstream: Upstream) -> httpx2.Response:
        transport = httpx2.MockTransport(upstream)
        if request.param == "sync":
            with httpx2.Client(transport=transport, auth=auth) as client:
                return client.get("https://api.example.net/x")

        async def go() -> httpx2.Response:
            async with httpx2.AsyncClient(transport=transport, auth=auth) as client:
                return await client.get("https://api.example.net/x")

        return anyio.run(go)

    return _send


def test_a_stale_token_is_refreshed_before_sending(send: Any) -> None:
    tokens = Tokens("old", stale=True)
    upstream = Upstream({"fresh1"})
    assert send(OAuth2Auth(tokens), upstream).status_code == 200
    assert tokens.refreshes == ["expiring"] and upstream.seen == ["fresh1"]


def test_a_401_is_refreshed_once_and_sent_again(send: Any) -> None:
    tokens = Tokens("old")
    upstream = Upstream({"fresh1"})
    assert send(OAuth2Auth(tokens), upstream).status_code == 200
    assert tokens.refreshes == ["rejected"] and upstream.seen == ["old", "fresh1"]


def test_a_second_401_is_returned_without_another_refresh(send: Any) -> None:
    tokens = Tokens("old")
    upstream = Upstream(set())
    assert send(OAuth2Auth(tokens), upstream).status_code == 401
    assert tokens.refreshes == ["rejected"] and len(upstream.seen) == 2


def test_a_declared_status_with_matching_body_counts_as_expiry(send: Any) -> None:
    tokens = Tokens("old")
    upstream = Upstream({"fresh1"}, status=200, body='{"ok": false, "error": "token_expired"}')
    signals = ExpirySignals(statuses=[200], body_pattern="token_expired")
    assert send(OAuth2Auth(tokens, expiry_signals=signals), upstream).status_code == 200
    assert tokens.refreshes == ["rejected"]


def test_a_declared_status_with_another_body_is_not_expiry(send: Any) -> None:
    tokens = Tokens("old")
    upstream = Upstream(set(), status=403, body='{"error": "forbidden"}')
    signals = ExpirySignals(statuses=[403], body_pattern="token_expired")
    assert send(OAuth2Auth(tokens, expiry_signals=signals), upstream).status_code == 403
    assert tokens.refreshes == []


def test_a_custom_header_name_and_prefix_are_used(send: Any) -> None:
    tokens = Tokens("tok")
    seen: list[str] = []

    def upstream(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["x-shopify-access-token"])
        return httpx2.Response(200)

    auth = OAuth2Auth(tokens, param_name="X-Shopify-Access-Token", token_prefix="")
    transport = httpx2.MockTransport(upstream)
    with httpx2.Client(transport=transport, auth=auth) as client:
        client.get("https://shop.example.net/")
    assert seen == ["tok"]


def test_the_repr_shows_no_token() -> None:
    assert "secret-token" not in repr(OAuth2Auth(Tokens("secret-token")))


# send_with(applied=...): a prepared request that already carries the token (invoke's plan).


def _prepared(token: str) -> httpx2.Request:
    return httpx2.Request(
        "GET", "https://api.example.net/x", headers={"Authorization": f"Bearer {token}"}
    )


def _send_with(auth: OAuth2Auth, upstream: Upstream, request: httpx2.Request, applied: str) -> Any:
    with httpx2.Client(transport=httpx2.MockTransport(upstream)) as client:
        return auth.send_with(request, client.send, applied=applied)


def test_a_prepared_request_with_the_fresh_token_goes_as_it_is() -> None:
    tokens, upstream = Tokens("old"), Upstream({"old"})
    assert _send_with(OAuth2Auth(tokens), upstream, _prepared("old"), "old").status_code == 200
    assert tokens.refreshes == [] and upstream.seen == ["old"]


def test_a_prepared_request_rejected_is_refreshed_once_and_sent_again() -> None:
    tokens, upstream = Tokens("old"), Upstream({"fresh1"})
    assert _send_with(OAuth2Auth(tokens), upstream, _prepared("old"), "old").status_code == 200
    assert tokens.refreshes == ["rejected"] and upstream.seen == ["old", "fresh1"]


def test_a_prepared_request_with_a_stale_token_is_refreshed_before_sending() -> None:
    tokens, upstream = Tokens("old", stale=True), Upstream({"fresh1"})
    assert _send_with(OAuth2Auth(tokens), upstream, _prepared("old"), "old").status_code == 200
    assert tokens.refreshes == ["expiring"] and upstream.seen == ["fresh1"]


def test_a_prepared_request_with_a_superseded_token_carries_the_current_one() -> None:
    tokens, upstream = Tokens("new"), Upstream({"new"})
    assert _send_with(OAuth2Auth(tokens), upstream, _prepared("old"), "old").status_code == 200
    assert tokens.refreshes == [] and upstream.seen == ["new"]


def test_a_prepared_request_that_fails_twice_returns_the_second_answer() -> None:
    tokens, upstream = Tokens("old"), Upstream(set())
    assert _send_with(OAuth2Auth(tokens), upstream, _prepared("old"), "old").status_code == 401
    assert tokens.refreshes == ["rejected"] and upstream.seen == ["old", "fresh1"]
