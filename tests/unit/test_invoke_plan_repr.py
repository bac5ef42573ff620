"""A prepared invoke plan carries the credential (an API key merged into its headers, a bearer
token, SigV4's signed headers): its repr, and the cache entry's, show none of it."""

from __future__ import annotations

import httpx2

from plugboard.auth.apikey import ApiKeyAuth, ApiKeyParameter, Placement
from plugboard.auth.oauth2 import AccessToken, OAuth2Auth, RefreshReason
from plugboard.auth.retry import RetryPolicy
from plugboard.usecases.invoke_requests import make_plan

SECRET = "sk-secret-value-123"


class _Tokens:
    def current(self) -> AccessToken:
        return AccessToken(SECRET)

    def needs_refresh(self, token: AccessToken) -> bool:
        return False

    def refresh(self, token: AccessToken, reason: RefreshReason) -> AccessToken:
        return token

    async def arefresh(self, token: AccessToken, reason: RefreshReason) -> AccessToken:
        return token


def test_an_api_key_plan_keeps_the_key_out_of_its_repr() -> None:
    auth = ApiKeyAuth([ApiKeyParameter(Placement.HEADER, "X-Api-Key", SECRET)])
    plan = make_plan("https://api.example.net/x", RetryPolicy(), httpx2.Headers(), auth)
    assert plan.headers["x-api-key"] == SECRET  # what the request will carry
    assert SECRET not in repr(plan) and "https://api.example.net/x" in repr(plan)


def test_a_bearer_plan_keeps_the_token_out_of_its_repr() -> None:
    plan = make_plan(
        "https://api.example.net/x", RetryPolicy(), httpx2.Headers(), OAuth2Auth(_Tokens())
    )
    request, token = plan.oauth2_request("GET", httpx2.Cookies(), {})
    assert token == SECRET and request.headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in repr(plan)
