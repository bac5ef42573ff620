"""The test provider's refresh switches for lost answers (docs/test-provider.md): a reuse grace
period for a rotated refresh token, refusing a refresh token while it is in use, and a delay
between issuing tokens and answering."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx2
import pytest

from plugboard.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ProviderServer, ProviderState


@pytest.fixture
def http(provider: ProviderServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=provider.base_url, timeout=5) as client:
        yield client


def refresh(http: httpx2.Client, refresh_token: str) -> httpx2.Response:
    return http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )


def _rotating(state: ProviderState, grace: float) -> str:
    state.rotate_refresh_tokens = True
    state.refresh_reuse_grace = grace
    return str(state.issue_tokens(DEMO_CLIENT_ID, scope="read")["refresh_token"])


def test_a_rotated_refresh_token_is_accepted_once_within_the_grace_period(
    http: httpx2.Client, provider: ProviderServer
) -> None:
    old = _rotating(provider.state, grace=30)
    first = refresh(http, old)
    assert first.status_code == 200
    again = refresh(http, old)  # the first answer was lost: the old token once more
    assert again.status_code == 200
    assert again.json()["refresh_token"] not in (old, first.json()["refresh_token"])
    third = refresh(http, old)
    assert (third.status_code, third.json()["error"]) == (400, "invalid_grant")


def test_without_a_grace_period_a_rotated_refresh_token_is_refused(
    http: httpx2.Client, provider: ProviderServer
) -> None:
    old = _rotating(provider.state, grace=0)
    assert refresh(http, old).status_code == 200
    time.sleep(0.01)
    response = refresh(http, old)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_a_revoked_refresh_token_gets_no_grace(
    http: httpx2.Client, provider: ProviderServer
) -> None:
    old = _rotating(provider.state, grace=30)
    newer = refresh(http, old).json()["refresh_token"]
    revoked = http.post(
        "/oauth2/revoke", data={"token": newer}, auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    )
    assert revoked.status_code == 200
    response = refresh(http, old)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_refuse_refresh_in_use_refuses_a_token_another_request_is_refreshing(
    provider: ProviderServer,
) -> None:
    state = provider.state
    old = _rotating(state, grace=30)
    state.refuse_refresh_in_use = True
    state.token_endpoint_delay = 0.4
    statuses: dict[str, int] = {}

    def slow() -> None:
        with httpx2.Client(base_url=provider.base_url, timeout=5) as own:
            statuses["slow"] = refresh(own, old).status_code

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.15)
    with httpx2.Client(base_url=provider.base_url, timeout=5) as http:
        refused = refresh(http, old)
        thread.join()
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
        assert statuses["slow"] == 200
        assert refresh(http, old).status_code == 200  # done now: the grace reuse


def test_a_client_gone_during_the_answer_delay_still_rotated_the_token(
    provider: ProviderServer,
) -> None:
    state = provider.state
    old = _rotating(state, grace=0)
    state.token_answer_delay = 1.0
    with httpx2.Client(base_url=provider.base_url, timeout=0.3) as http:
        with pytest.raises(httpx2.TimeoutException):
            refresh(http, old)
    issued = [c for c in state.calls_to("oauth2.token") if c.status == 200]
    deadline = time.monotonic() + 5
    while not issued and time.monotonic() < deadline:
        time.sleep(0.05)
        issued = [c for c in state.calls_to("oauth2.token") if c.status == 200]
    assert len(issued) == 1
    assert not state.refresh_tokens[old].active


def test_each_rotated_refresh_token_has_its_own_grace(
    http: httpx2.Client, provider: ProviderServer
) -> None:
    first = _rotating(provider.state, grace=30)
    second = refresh(http, first).json()["refresh_token"]
    assert refresh(http, first).status_code == 200  # first's one reuse
    third = refresh(http, second).json()["refresh_token"]
    assert third
    assert refresh(http, second).status_code == 200  # second's own reuse, not first's
