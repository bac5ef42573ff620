"""Pure rules of authorizations and credentials (domain/authorizations.py, credentials.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plugboard.domain.authorizations import (
    cooldown_remaining,
    default_environment,
    environment_key,
    is_stale,
    merge_grant,
    oauth_error,
    parse_token_response,
    who_must_act,
)
from plugboard.domain.credentials import (
    ApiKeyCredential,
    AwsCredential,
    BasicCredential,
    OAuth1Credential,
    OAuth2Credential,
    credential_from_data,
    credential_to_data,
)
from plugboard.domain.models import ConnectionLevel, Environment, Role, WorkspaceKind
from plugboard.errors import ValidationError

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_a_token_inside_the_skew_is_stale() -> None:
    assert is_stale(NOW + timedelta(seconds=59), NOW, 60)


def test_a_token_outside_the_skew_is_not_stale() -> None:
    assert not is_stale(NOW + timedelta(seconds=61), NOW, 60)


def test_a_token_without_expiry_is_never_stale() -> None:
    assert not is_stale(None, NOW, 60)


def test_the_cooldown_counts_down_from_the_failure() -> None:
    assert cooldown_remaining(NOW - timedelta(seconds=10), NOW, 30) == 20


def test_no_failure_means_no_cooldown() -> None:
    assert cooldown_remaining(None, NOW, 30) == 0
    assert cooldown_remaining(NOW - timedelta(seconds=31), NOW, 30) == 0


def test_a_shared_authorization_is_stored_for_all_environments() -> None:
    assert environment_key(False, Environment.STAGE) == "all"
    assert environment_key(True, Environment.STAGE) == "stage"


def test_client_workspaces_default_to_production() -> None:
    assert default_environment(WorkspaceKind.CLIENT) is Environment.PRODUCTION
    assert default_environment(WorkspaceKind.DEVELOPER) is Environment.DEVELOPMENT


@pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.ADMIN, Role.DEVELOPER])
def test_admins_are_prompted_to_authorize_admin_connections(role: Role) -> None:
    text = who_must_act(ConnectionLevel.ADMIN, role=role, is_operator=False, for_user=True)
    assert text == "an admin must authorize this connection: you can authorize it"


def test_users_are_told_to_contact_their_admin_for_system_connections() -> None:
    text = who_must_act(ConnectionLevel.SYSTEM, role=Role.USER, is_operator=False, for_user=True)
    assert text.startswith("contact your admin")


def test_the_caller_is_prompted_for_a_user_connection() -> None:
    text = who_must_act(ConnectionLevel.USER, role=Role.USER, is_operator=False, for_user=True)
    assert text.startswith("you must authorize this connection for yourself")


def test_a_token_response_gives_an_expiry_from_expires_in() -> None:
    grant = parse_token_response({"access_token": "a", "expires_in": "120"}, NOW)
    assert grant.expires_at == NOW + timedelta(seconds=120)
    assert grant.refresh_token is None
    assert grant.token_type == "Bearer"


def test_a_token_response_without_access_token_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        parse_token_response({"token_type": "bearer"}, NOW)
    assert raised.value.field == "token_response.access_token"


def test_a_rotated_refresh_token_replaces_the_old_one() -> None:
    old = OAuth2Credential("a1", "r1", scope="read")
    new = merge_grant(old, parse_token_response({"access_token": "a2", "refresh_token": "r2"}, NOW))
    assert (new.access_token, new.refresh_token, new.scope) == ("a2", "r2", "read")


def test_a_response_without_refresh_token_keeps_the_old_one() -> None:
    old = OAuth2Credential("a1", "r1")
    new = merge_grant(old, parse_token_response({"access_token": "a2"}, NOW))
    assert new.refresh_token == "r1"


def test_the_oauth_error_code_is_read_from_an_error_response() -> None:
    assert oauth_error({"error": "invalid_grant"}) == "invalid_grant"
    assert oauth_error("not json") is None


@pytest.mark.parametrize(
    "credential",
    [
        ApiKeyCredential({"X-Api-Key": "k"}),
        BasicCredential("u", "p"),
        OAuth1Credential("t", "ts"),
        OAuth2Credential("a", "r", "Bearer", "read"),
        AwsCredential("AK", "SK", "ST"),
    ],
)
def test_a_credential_reads_back_from_its_stored_form(credential: object) -> None:
    assert credential_from_data(credential_to_data(credential)) == credential  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "credential",
    [
        ApiKeyCredential({"X-Api-Key": "sekret-1"}),
        BasicCredential("u", "sekret-1"),
        OAuth1Credential("sekret-1", "sekret-1"),
        OAuth2Credential("sekret-1", "sekret-1"),
        AwsCredential("sekret-1", "sekret-1", "sekret-1"),
    ],
)
def test_a_credential_repr_shows_no_secret(credential: object) -> None:
    assert "sekret-1" not in repr(credential)


def test_an_unknown_credential_type_is_refused() -> None:
    with pytest.raises(ValidationError):
        credential_from_data({"type": "magic"})
