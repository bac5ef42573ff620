"""The demo provider's issued tokens survive a restart through a file in the home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from plugboard.testing.provider import create_provider_app
from plugboard.testing.provider_state import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ProviderState
from plugboard.testing.provider_store import ProviderStateFile, persisting


def test_tokens_issued_before_a_restart_are_known_after_it(tmp_path: Path) -> None:
    before, saved = ProviderState(), ProviderStateFile(tmp_path / "demo-provider.json")
    issued = before.issue_tokens(DEMO_CLIENT_ID, scope="read")
    saved.save(before)
    after = ProviderState()
    assert saved.load(after) == 2
    access = after.access_tokens[issued["access_token"]]
    assert access == before.access_tokens[issued["access_token"]]
    assert after.refresh_tokens[issued["refresh_token"]].active


def test_the_saved_tokens_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    saved = ProviderStateFile(tmp_path / "demo-provider.json")
    state = ProviderState()
    state.issue_tokens(DEMO_CLIENT_ID)
    saved.save(state)
    assert saved.path.stat().st_mode & 0o777 == 0o600


def test_an_unreadable_file_is_ignored_and_the_demo_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "demo-provider.json"
    path.write_text("{not json")
    state = ProviderState()
    assert ProviderStateFile(path).load(state) == 0
    assert state.access_tokens == {} and state.refresh_tokens == {}


def test_a_refresh_through_the_provider_is_saved_before_the_answer(tmp_path: Path) -> None:
    state, saved = ProviderState(), ProviderStateFile(tmp_path / "demo-provider.json")
    issued = state.issue_tokens(DEMO_CLIENT_ID)
    with TestClient(persisting(create_provider_app(state), state, saved)) as client:
        answer = client.post(
            "/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
            auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        )
    assert answer.status_code == 200, answer.text
    on_disk = json.loads(saved.path.read_text())
    assert answer.json()["access_token"] in {t["token"] for t in on_disk["access_tokens"]}


def test_api_calls_do_not_rewrite_the_file(tmp_path: Path) -> None:
    state, saved = ProviderState(), ProviderStateFile(tmp_path / "demo-provider.json")
    issued = state.issue_tokens(DEMO_CLIENT_ID)
    with TestClient(persisting(create_provider_app(state), state, saved)) as client:
        headers = {"Authorization": f"Bearer {issued['access_token']}"}
        assert client.post("/api/oauth2/things", headers=headers).status_code == 200
    assert not saved.path.exists()


def test_a_misspelled_provider_switch_is_refused_not_silently_ignored() -> None:
    state = ProviderState()
    state.token_endpoint_delay = 0.2
    with pytest.raises(AttributeError, match="no switch 'token_delay'"):
        state.token_delay = 0.2  # type: ignore[attr-defined]
    assert state.token_endpoint_delay == 0.2
