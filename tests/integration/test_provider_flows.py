"""The test provider itself, over real HTTP on 127.0.0.1: each test one behaviour of the far side.

Plugboard's own tests trust this provider to refuse what a real service refuses; these tests
check that it does, driving it with plain httpx2 and Plugboard's client-side Auth classes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx2
import pytest

from plugboard.auth.oauth1 import OAuth1Auth, access_token_auth, request_token_auth
from plugboard.auth.sigv4 import SigV4Auth
from plugboard.domain.urls import pkce_pair
from plugboard.testing import (
    DEMO_API_KEY,
    DEMO_AWS_ACCESS_KEY,
    DEMO_AWS_SECRET_KEY,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_REDIRECT_URI,
    ApiKeyParam,
    CannedResponse,
    ClientAuth,
    ConsentMode,
    ExpirySignal,
    ProviderServer,
    ProviderState,
    run_provider,
)

CALLBACK = "https://app.example.test/oauth1/callback"


@pytest.fixture
def http(provider: ProviderServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=provider.base_url, timeout=5) as client:
        yield client


@pytest.fixture
def state(provider: ProviderServer) -> ProviderState:
    return provider.state


def location_params(response: httpx2.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


def authorize(
    http: httpx2.Client,
    challenge: str | None,
    *,
    client_id: str = DEMO_CLIENT_ID,
    redirect_uri: str = DEMO_REDIRECT_URI,
    scope: str = "read write",
) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": "st-123",
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return location_params(http.get("/oauth2/authorize", params=params))


def exchange(
    http: httpx2.Client, code: str, verifier: str, *, basic: bool = True, **extra: str
) -> httpx2.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
        "code_verifier": verifier,
        **extra,
    }
    if basic:
        return http.post("/oauth2/token", data=data, auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
    return http.post("/oauth2/token", data=data)


def linked(http: httpx2.Client) -> dict[str, Any]:
    """Tokens from a complete code + PKCE flow with the demo client."""
    verifier, challenge = pkce_pair()
    code = authorize(http, challenge)["code"]
    response = exchange(http, code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(http: httpx2.Client, refresh_token: str) -> httpx2.Response:
    return http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- OAuth 2 ------------------------------------------------------------------------------------


def test_code_flow_with_pkce_gives_tokens_that_open_the_api(
    http: httpx2.Client, state: ProviderState
) -> None:
    verifier, challenge = pkce_pair()
    redirect = authorize(http, challenge)
    assert redirect["state"] == "st-123"
    response = exchange(http, redirect["code"], verifier)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == "read write"
    assert tokens["refresh_token"]
    api = http.post(
        "/api/oauth2/items",
        params={"q": "1"},
        json={"a": 1},
        headers=bearer(tokens["access_token"]),
    )
    assert api.status_code == 200
    echo = api.json()
    assert (echo["account"], echo["method"], echo["path"]) == ("acct-1001", "POST", "/items")
    assert (echo["query"], echo["json"]) == ({"q": "1"}, {"a": 1})
    assert "authorization" not in echo["headers"]
    [call] = state.calls_to("oauth2.token")
    assert (call.grant_type, call.client_auth, call.status) == (
        "authorization_code",
        "client_secret_basic",
        200,
    )


def test_a_wrong_code_verifier_is_invalid_grant(http: httpx2.Client) -> None:
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    code = authorize(http, challenge)["code"]
    response = exchange(http, code, other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_client_registered_for_pkce_cannot_authorize_without_a_challenge(
    http: httpx2.Client,
) -> None:
    redirect = authorize(http, None)
    assert redirect["error"] == "invalid_request"
    assert redirect["state"] == "st-123"


def test_an_unregistered_redirect_uri_is_refused_without_redirecting(http: httpx2.Client) -> None:
    _, challenge = pkce_pair()
    response = http.get(
        "/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": DEMO_REDIRECT_URI + "/evil",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 400
    assert "location" not in response.headers


def test_deny_switch_redirects_with_access_denied(
    http: httpx2.Client, state: ProviderState
) -> None:
    state.consent_mode = ConsentMode.DENY
    _, challenge = pkce_pair()
    redirect = authorize(http, challenge)
    assert (redirect["error"], redirect["state"]) == ("access_denied", "st-123")
    assert "code" not in redirect


def test_consent_page_approve_button_redirects_with_a_code(
    http: httpx2.Client, state: ProviderState
) -> None:
    state.consent_mode = ConsentMode.PAGE
    verifier, challenge = pkce_pair()
    page = http.get(
        "/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": DEMO_REDIRECT_URI,
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200
    ticket = page.text.split("name='ticket' value='")[1].split("'")[0]
    redirect = location_params(
        http.post("/consent", data={"ticket": ticket, "decision": "approve"})
    )
    assert redirect["state"] == "s1"
    assert exchange(http, redirect["code"], verifier).status_code == 200


def test_a_client_secret_post_client_is_refused_over_basic(
    http: httpx2.Client, state: ProviderState
) -> None:
    client = state.register_oauth2_client(auth_method=ClientAuth.POST)
    verifier, challenge = pkce_pair()
    code = authorize(http, challenge, client_id=client.client_id)["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
        "code_verifier": verifier,
    }
    wrong = http.post("/oauth2/token", data=data, auth=(client.client_id, client.client_secret))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    # The refused attempt did not burn the code: client authentication comes first.
    data |= {"client_id": client.client_id, "client_secret": client.client_secret}
    right = http.post("/oauth2/token", data=data)
    assert right.status_code == 200
    assert [c.client_auth for c in state.calls_to("oauth2.token")] == [
        "client_secret_basic",
        "client_secret_post",
    ]


def test_a_client_secret_basic_client_is_refused_over_post(http: httpx2.Client) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(http, challenge)["code"]
    response = exchange(
        http,
        code,
        verifier,
        basic=False,
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")


def test_a_wrong_client_secret_is_invalid_client(http: httpx2.Client) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(http, challenge)["code"]
    response = http.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
        auth=(DEMO_CLIENT_ID, "not-the-secret"),
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_a_code_is_single_use_and_its_replay_revokes_the_tokens(http: httpx2.Client) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(http, challenge)["code"]
    first = exchange(http, code, verifier)
    assert first.status_code == 200
    second = exchange(http, code, verifier)
    assert (second.status_code, second.json()["error"]) == (400, "invalid_grant")
    api = http.get("/api/oauth2/me", headers=bearer(first.json()["access_token"]))
    assert api.status_code == 401


def test_refresh_with_rotation_invalidates_the_old_refresh_token(
    http: httpx2.Client, state: ProviderState
) -> None:
    state.rotate_refresh_tokens = True
    tokens = linked(http)
    rotated = refresh(http, tokens["refresh_token"])
    assert rotated.status_code == 200
    new_refresh = rotated.json()["refresh_token"]
    assert new_refresh != tokens["refresh_token"]
    old = refresh(http, tokens["refresh_token"])
    assert (old.status_code, old.json()["error"]) == (400, "invalid_grant")
    assert refresh(http, new_refresh).status_code == 200
    assert state.token_calls("refresh_token") == 3


def test_refresh_without_rotation_keeps_the_refresh_token(http: httpx2.Client) -> None:
    tokens = linked(http)
    refreshed = refresh(http, tokens["refresh_token"]).json()
    assert refreshed["refresh_token"] == tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]


def test_omit_refresh_token_switch_leaves_it_out_of_the_refresh_response(
    http: httpx2.Client, state: ProviderState
) -> None:
    state.omit_refresh_token_in_refresh_response = True
    tokens = linked(http)
    refreshed = refresh(http, tokens["refresh_token"]).json()
    assert "refresh_token" not in refreshed
    assert refresh(http, tokens["refresh_token"]).status_code == 200


def test_reject_refresh_gives_invalid_grant(http: httpx2.Client, state: ProviderState) -> None:
    tokens = linked(http)
    state.reject_refresh = True
    response = refresh(http, tokens["refresh_token"])
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_fail_token_endpoint_with_simulates_an_outage(
    http: httpx2.Client, state: ProviderState
) -> None:
    tokens = linked(http)
    state.fail_token_endpoint_with = 503
    response = refresh(http, tokens["refresh_token"])
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert state.token_calls("refresh_token") == 1


def test_concurrent_refreshes_with_rotation_let_exactly_one_win(
    provider: ProviderServer, state: ProviderState
) -> None:
    state.rotate_refresh_tokens = True
    state.token_endpoint_delay = 0.2
    with httpx2.Client(base_url=provider.base_url, timeout=5) as http:
        tokens = state.issue_tokens(DEMO_CLIENT_ID, scope="read")
        statuses: list[int] = []

        def one() -> None:
            with httpx2.Client(base_url=provider.base_url, timeout=5) as own:
                statuses.append(refresh(own, tokens["refresh_token"]).status_code)

        threads = [threading.Thread(target=one) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 400, 400, 400]
        assert state.token_calls("refresh_token") == 4
        assert http.get("/health").status_code == 200


def test_revoke_makes_the_access_token_fail_on_the_api(
    http: httpx2.Client, state: ProviderState
) -> None:
    tokens = linked(http)
    response = http.post(
        "/oauth2/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )
    assert response.status_code == 200
    api = http.get("/api/oauth2/me", headers=bearer(tokens["access_token"]))
    assert api.status_code == 401
    assert 'error="invalid_token"' in api.headers["www-authenticate"]
    [call] = state.calls_to("oauth2.revoke")
    assert (call.token_kind, call.token_type_hint, call.client_auth) == (
        "access_token",
        "access_token",
        "client_secret_basic",
    )


def test_revoking_the_refresh_token_revokes_its_access_tokens(http: httpx2.Client) -> None:
    tokens = linked(http)
    http.post(
        "/oauth2/revoke",
        data={"token": tokens["refresh_token"]},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )
    assert http.get("/api/oauth2/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert refresh(http, tokens["refresh_token"]).status_code == 400


def test_an_expired_access_token_is_401_invalid_token(
    http: httpx2.Client, state: ProviderState
) -> None:
    tokens = linked(http)
    assert http.get("/api/oauth2/me", headers=bearer(tokens["access_token"])).status_code == 200
    state.advance_clock(3601)
    api = http.get("/api/oauth2/me", headers=bearer(tokens["access_token"]))
    assert api.status_code == 401
    assert 'error="invalid_token"' in api.headers["www-authenticate"]
    assert refresh(http, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize(
    ("signal", "status", "body"),
    [
        (ExpirySignal.FORBIDDEN, 403, {"error": "token_expired"}),
        (ExpirySignal.BODY, 200, {"ok": False, "error": "token_expired"}),
    ],
)
def test_expiry_can_be_signalled_as_403_or_in_a_200_body(
    http: httpx2.Client,
    state: ProviderState,
    signal: ExpirySignal,
    status: int,
    body: dict[str, Any],
) -> None:
    state.expiry_signal = signal
    state.access_token_ttl = 60
    tokens = linked(http)
    state.advance_clock(61)
    api = http.get("/api/oauth2/me", headers=bearer(tokens["access_token"]))
    assert api.status_code == status
    assert body.items() <= api.json().items()


def test_expire_access_tokens_expires_them_without_moving_the_clock(
    http: httpx2.Client, state: ProviderState
) -> None:
    tokens = linked(http)
    state.expire_access_tokens()
    assert http.get("/api/oauth2/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert http.get("/api/basic/me", auth=("demo", "demo-password")).status_code == 200


def test_a_form_access_token_is_accepted_when_enabled(
    http: httpx2.Client, state: ProviderState
) -> None:
    state.accept_access_token_in_form = True
    tokens = linked(http)
    echo = http.post("/api/oauth2/me", data={"access_token": tokens["access_token"], "a": "1"})
    assert (echo.status_code, echo.json()["form"]) == (200, {"a": "1"})


def test_a_query_access_token_is_accepted_only_when_enabled(
    http: httpx2.Client, state: ProviderState
) -> None:
    tokens = linked(http)
    params = {"access_token": tokens["access_token"], "x": "1"}
    assert http.get("/api/oauth2/me", params=params).status_code == 401
    state.accept_access_token_in_query = True
    echo = http.get("/api/oauth2/me", params=params).json()
    assert echo["query"] == {"x": "1"}
    assert state.calls_to("api.oauth2")[-1].placement == "query"


def test_userinfo_returns_the_account_that_consented(
    http: httpx2.Client, state: ProviderState
) -> None:
    state.next_account = {"sub": "acct-2", "name": "Grace Hopper", "email": "grace@p.test"}
    tokens = linked(http)
    info = http.get("/oauth2/userinfo", headers=bearer(tokens["access_token"])).json()
    assert info == {
        "sub": "acct-2",
        "name": "Grace Hopper",
        "email": "grace@p.test",
        "preferred_username": "acct-2",
    }


# --- OAuth 1.0a ---------------------------------------------------------------------------------


def oauth1_link(http: httpx2.Client) -> tuple[str, str]:
    """The three-legged flow with the demo consumer; returns the token credentials."""
    temporary = http.post(
        "/oauth1/request_token",
        auth=request_token_auth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, CALLBACK),
    )
    assert temporary.status_code == 200, temporary.text
    issued = dict(parse_qsl(temporary.text))
    assert issued["oauth_callback_confirmed"] == "true"
    back = location_params(
        http.get("/oauth1/authorize", params={"oauth_token": issued["oauth_token"]})
    )
    assert back["oauth_token"] == issued["oauth_token"]
    access = http.post(
        "/oauth1/access_token",
        auth=access_token_auth(
            DEMO_CONSUMER_KEY,
            DEMO_CONSUMER_SECRET,
            issued["oauth_token"],
            issued["oauth_token_secret"],
            back["oauth_verifier"],
        ),
    )
    assert access.status_code == 200, access.text
    credentials = dict(parse_qsl(access.text))
    assert credentials["screen_name"] == "ada"
    return credentials["oauth_token"], credentials["oauth_token_secret"]


@pytest.mark.parametrize("placement", ["header", "query", "form"])
def test_oauth1_three_legged_flow_then_a_signed_api_call_succeeds(
    http: httpx2.Client, state: ProviderState, placement: str
) -> None:
    token, secret = oauth1_link(http)
    auth = OAuth1Auth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, token, secret, placement)
    response = http.post(
        "/api/oauth1/statuses/update", params={"q": "a b"}, data={"status": "hi there"}, auth=auth
    )
    assert response.status_code == 200, response.text
    echo = response.json()
    assert (echo["account"], echo["form"], echo["query"]) == (
        "acct-1001",
        {"status": "hi there"},
        {"q": "a b"},
    )
    assert state.calls_to("api.oauth1")[-1].placement == placement


def test_oauth1_json_body_is_not_part_of_the_signature(http: httpx2.Client) -> None:
    token, secret = oauth1_link(http)
    auth = OAuth1Auth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, token, secret)
    response = http.post("/api/oauth1/items", json={"a": [1, 2]}, auth=auth)
    assert response.status_code == 200, response.text
    assert response.json()["json"] == {"a": [1, 2]}


def test_oauth1_a_tampered_signature_is_refused(http: httpx2.Client) -> None:
    token, secret = oauth1_link(http)
    auth = OAuth1Auth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, token, secret, "query")
    request = auth.sign(http.build_request("GET", "/api/oauth1/me", params={"n": "1"}))
    tampered = request.url.copy_set_param("n", "2")
    response = http.send(httpx2.Request("GET", tampered))
    assert response.status_code == 401
    assert parse_qs(response.text)["oauth_problem"] == ["signature_invalid"]


def test_oauth1_a_replayed_nonce_is_refused(http: httpx2.Client) -> None:
    token, secret = oauth1_link(http)
    auth = OAuth1Auth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, token, secret)
    request = auth.sign(http.build_request("GET", "/api/oauth1/me"))
    assert http.send(request).status_code == 200
    replay = http.send(httpx2.Request("GET", request.url, headers=request.headers))
    assert replay.status_code == 401
    assert parse_qs(replay.text)["oauth_problem"] == ["nonce_used"]


def test_oauth1_a_wrong_verifier_is_refused(http: httpx2.Client) -> None:
    temporary = dict(
        parse_qsl(
            http.post(
                "/oauth1/request_token",
                auth=request_token_auth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, CALLBACK),
            ).text
        )
    )
    http.get("/oauth1/authorize", params={"oauth_token": temporary["oauth_token"]})
    response = http.post(
        "/oauth1/access_token",
        auth=access_token_auth(
            DEMO_CONSUMER_KEY,
            DEMO_CONSUMER_SECRET,
            temporary["oauth_token"],
            temporary["oauth_token_secret"],
            "guessed-verifier",
        ),
    )
    assert response.status_code == 401
    assert parse_qs(response.text)["oauth_problem"] == ["verifier_invalid"]


def test_oauth1_deny_switch_redirects_with_denied(
    http: httpx2.Client, state: ProviderState
) -> None:
    state.consent_mode = ConsentMode.DENY
    temporary = dict(
        parse_qsl(
            http.post(
                "/oauth1/request_token",
                auth=request_token_auth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, CALLBACK),
            ).text
        )
    )
    back = location_params(
        http.get("/oauth1/authorize", params={"oauth_token": temporary["oauth_token"]})
    )
    assert back == {"denied": temporary["oauth_token"]}


def test_oauth1_seeded_token_signs_api_calls_and_a_foreign_consumer_cannot_use_it(
    http: httpx2.Client, state: ProviderState
) -> None:
    token, secret = state.issue_oauth1_token(DEMO_CONSUMER_KEY)
    ok = http.get(
        "/api/oauth1/me", auth=OAuth1Auth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, token, secret)
    )
    assert ok.status_code == 200
    other = state.register_oauth1_consumer()
    foreign = http.get("/api/oauth1/me", auth=OAuth1Auth(other.key, other.secret, token, secret))
    assert parse_qs(foreign.text)["oauth_problem"] == ["token_rejected"]


# --- API key, Basic, SigV4 ----------------------------------------------------------------------


def test_api_key_header_is_accepted_and_a_wrong_one_refused(http: httpx2.Client) -> None:
    ok = http.get("/api/apikey/contacts", headers={"X-Api-Key": DEMO_API_KEY})
    assert ok.status_code == 200
    assert "x-api-key" not in ok.json()["headers"]
    wrong = http.get("/api/apikey/contacts", headers={"X-Api-Key": DEMO_API_KEY + "x"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_api_key")
    assert http.get("/api/apikey/contacts").json()["error"] == "missing_api_key"


def test_api_key_in_the_query_when_configured_so(http: httpx2.Client, state: ProviderState) -> None:
    state.api_key_params = [ApiKeyParam("query", "api_key", "k-1")]
    assert http.get("/api/apikey/x", params={"api_key": "k-1"}).status_code == 200
    assert http.get("/api/apikey/x", headers={"X-Api-Key": "k-1"}).status_code == 401


def test_basic_credentials_are_accepted_and_a_wrong_password_refused(
    http: httpx2.Client,
) -> None:
    ok = http.get("/api/basic/me", auth=("demo", "demo-password"))
    assert (ok.status_code, ok.json()["account"]) == (200, "demo")
    wrong = http.get("/api/basic/me", auth=("demo", "nope"))
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Basic ")


def test_sigv4_signed_request_is_accepted(http: httpx2.Client) -> None:
    auth = SigV4Auth(DEMO_AWS_ACCESS_KEY, DEMO_AWS_SECRET_KEY, "eu-west-1", "sqs")
    response = http.post(
        "/api/aws/queue path/",
        params={"Action": "SendMessage", "v": "a b"},
        data={"x": "1"},
        auth=auth,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["service"], response.json()["region"]) == ("sqs", "eu-west-1")


def test_sigv4_with_a_wrong_secret_is_403_signature_does_not_match(http: httpx2.Client) -> None:
    auth = SigV4Auth(DEMO_AWS_ACCESS_KEY, "wrong-secret", "us-east-1", "sqs")
    response = http.get("/api/aws/", params={"Action": "ListQueues"}, auth=auth)
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text


def test_sigv4_with_a_body_changed_after_signing_is_refused(http: httpx2.Client) -> None:
    auth = SigV4Auth(DEMO_AWS_ACCESS_KEY, DEMO_AWS_SECRET_KEY, "us-east-1", "dynamodb")
    request = auth.sign(http.build_request("POST", "/api/aws/", json={"TableName": "a"}))
    forged = httpx2.Request(
        "POST", request.url, headers=request.headers, content=b'{"TableName":"b"}'
    )
    response = http.send(forged)
    assert response.status_code == 400
    assert response.json()["__type"].endswith("XAmzContentSHA256Mismatch")


def test_sigv4_outside_the_15_minute_window_is_refused(
    http: httpx2.Client, state: ProviderState
) -> None:
    past = datetime.now(UTC) - timedelta(minutes=16)
    auth = SigV4Auth(
        DEMO_AWS_ACCESS_KEY, DEMO_AWS_SECRET_KEY, "us-east-1", "s3", clock=lambda: past
    )
    response = http.get("/api/aws/bucket/key", auth=auth)
    assert response.status_code == 403
    assert "Signature expired" in response.text


def test_sigv4_session_token_must_match_when_configured(
    http: httpx2.Client, state: ProviderState
) -> None:
    state.add_aws_credential("ASIATEMP", "temp-secret", session_token="session-1")
    good = SigV4Auth("ASIATEMP", "temp-secret", "us-east-1", "sqs", session_token="session-1")
    assert http.get("/api/aws/", auth=good).status_code == 200
    bad = SigV4Auth("ASIATEMP", "temp-secret", "us-east-1", "sqs", session_token="session-2")
    assert http.get("/api/aws/", auth=bad).status_code == 403


# --- flakiness, counting, lifecycle -------------------------------------------------------------


def test_next_responses_are_served_first_then_the_real_answer(
    http: httpx2.Client, state: ProviderState
) -> None:
    state.queue_responses(CannedResponse(503, {"Retry-After": "1"}), 429)
    key = {"X-Api-Key": DEMO_API_KEY}
    first = http.get("/api/apikey/x", headers=key)
    assert (first.status_code, first.headers["retry-after"]) == (503, "1")
    assert http.get("/api/apikey/x", headers=key).status_code == 429
    assert http.get("/api/apikey/x", headers=key).status_code == 200
    assert state.hits["/api/apikey/x"] == 3
    assert [c.canned for c in state.calls_to("api.apikey")] == [True, True, False]


def test_reset_forgets_tokens_calls_and_switches(http: httpx2.Client, state: ProviderState) -> None:
    tokens = linked(http)
    state.reject_refresh = True
    state.reset()
    assert state.calls == [] and not state.reject_refresh
    assert http.get("/api/oauth2/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert DEMO_CLIENT_ID in state.oauth2_clients


def test_the_call_log_holds_no_credential_values(http: httpx2.Client, state: ProviderState) -> None:
    tokens = linked(http)
    http.get("/api/oauth2/me", headers=bearer(tokens["access_token"]))
    log = repr(state.calls)
    for secret in (tokens["access_token"], tokens["refresh_token"], DEMO_CLIENT_SECRET):
        assert secret not in log


def test_run_provider_serves_its_own_state_on_a_free_port() -> None:
    mine = ProviderState(demo=False)
    with run_provider(mine) as (base_url, state):
        assert state is mine
        with httpx2.Client() as client:
            response = client.get(f"{base_url}/api/basic/x", auth=("demo", "demo-password"))
        assert response.status_code == 401
    with pytest.raises(httpx2.ConnectError), httpx2.Client() as client:
        client.get(f"{base_url}/health")
