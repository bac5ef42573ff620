from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from plugboard.catalog.loader import builtin_services
from plugboard.domain.oauth import (
    CONSENT_WINDOW_SECONDS,
    EXCHANGE_GRACE_SECONDS,
    EXCHANGING,
    FlowState,
    PendingFlow,
    callback_url,
    expiry,
    fallback_account_name,
    new_state,
    oauth2_authorize_url,
    state_hash,
)
from plugboard.domain.urls import pkce_pair
from plugboard.errors import ValidationError

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _flow(**overrides: object) -> PendingFlow:
    values: dict[str, object] = {
        "id": "flow_1",
        "workspace_id": "ws_1",
        "connection_id": "conn_1",
        "initiated_by": "usr_1",
        "owner_user_id": None,
        "environments": ("all",),
        "redirect_uri": "http://127.0.0.1:8000/oauth/callback",
        "created_at": NOW,
        "expires_at": expiry(NOW),
        **overrides,
    }
    return PendingFlow(**values)  # type: ignore[arg-type]


def test_the_consent_window_is_ninety_seconds() -> None:
    assert CONSENT_WINDOW_SECONDS == 90
    assert expiry(NOW) - NOW == timedelta(seconds=90)


def test_a_flow_is_pending_until_its_window_closes() -> None:
    flow = _flow()
    assert flow.state_at(NOW + timedelta(seconds=89)) is FlowState.PENDING
    assert flow.state_at(NOW + timedelta(seconds=90)) is FlowState.EXPIRED


def test_a_consumed_flow_is_completed_or_failed() -> None:
    assert _flow(consumed_at=NOW, outcome="connected").state_at(NOW) is FlowState.COMPLETED
    assert _flow(consumed_at=NOW, outcome="failed: x").state_at(NOW) is FlowState.FAILED


def test_a_flow_whose_code_is_being_exchanged_is_still_pending() -> None:
    exchanging = _flow(consumed_at=NOW, outcome=EXCHANGING)
    assert exchanging.state_at(NOW + timedelta(seconds=1)) is FlowState.PENDING
    window_end = NOW + timedelta(seconds=CONSENT_WINDOW_SECONDS)
    assert exchanging.state_at(window_end + timedelta(seconds=5)) is FlowState.PENDING
    late = window_end + timedelta(seconds=EXCHANGE_GRACE_SECONDS)
    assert exchanging.state_at(late) is FlowState.FAILED


def test_states_are_random_and_only_their_hash_is_kept() -> None:
    a, b = new_state(), new_state()
    assert a != b and len(a) >= 43
    assert state_hash(a) != a and len(state_hash(a)) == 64


def test_the_authorize_url_carries_pkce_state_scopes_and_the_exact_redirect() -> None:
    github = builtin_services()["github"]
    verifier, challenge = pkce_pair()
    url = oauth2_authorize_url(
        github,
        dynamic_values={},
        client_id="cid",
        redirect_uri=callback_url("https://pb.example.com/"),
        scopes=["repo", "read:user"],
        state="st",
        code_challenge=challenge,
    )
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://github.com/login/oauth/authorize"
    )
    assert query["redirect_uri"] == ["https://pb.example.com/oauth/callback"]
    assert query["code_challenge"] == [challenge] and query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["repo read:user"] and query["state"] == ["st"]
    assert verifier not in url


def test_dynamic_values_fill_the_authorize_url_but_cannot_move_its_host() -> None:
    shopify = builtin_services()["shopify"]
    url = oauth2_authorize_url(
        shopify, dynamic_values={"shop": "zylker"}, client_id="c", redirect_uri="https://x.io/cb",
        scopes=["read_orders"], state="s", code_challenge="ch",
    )  # fmt: skip
    assert urlsplit(url).netloc == "zylker.myshopify.com"
    with pytest.raises(ValidationError):
        oauth2_authorize_url(
            shopify, dynamic_values={"shop": "evil.com/"}, client_id="c",
            redirect_uri="https://x.io/cb", scopes=[], state="s", code_challenge="ch",
        )  # fmt: skip


def test_a_pkce_service_needs_a_challenge() -> None:
    with pytest.raises(ValidationError, match="code challenge"):
        oauth2_authorize_url(
            builtin_services()["github"], dynamic_values={}, client_id="c",
            redirect_uri="https://x.io/cb", scopes=[], state="s", code_challenge=None,
        )  # fmt: skip


def test_the_fallback_account_name_counts_up() -> None:
    assert fallback_account_name("Slack", []) == "Slack Account 1"
    assert fallback_account_name("Slack", ["Slack Account 1"]) == "Slack Account 2"


def test_callback_params_never_show_their_single_use_values() -> None:
    from plugboard.domain.oauth import CallbackParams

    params = CallbackParams.from_query(
        {"state": "st-secret", "code": "code-secret", "oauth_verifier": "ver-secret"}
    )
    assert not any(v in repr(params) for v in ("st-secret", "code-secret", "ver-secret"))


def test_a_revocation_never_shows_the_deleted_credential() -> None:
    from plugboard.usecases.authorizations import Revocation

    revocation = Revocation(None, None, {"refresh_token": "rt-secret"})  # type: ignore[arg-type]
    assert "rt-secret" not in repr(revocation)
