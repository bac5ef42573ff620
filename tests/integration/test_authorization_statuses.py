"""`failed` and `not_connected` are real statuses (SPEC §5 "Statuses, precisely"): a failed
attempt to link an account leaves the authorization `failed` with the provider's error (never a
secret); editing or deleting its custom service leaves it `not_connected`, its credential gone.
Over real HTTP on 127.0.0.1 against the bundled test provider, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from plugboard.errors import ValidationError
from plugboard.testing.provider_state import DEMO_API_KEY, ConsentMode
from plugboard.usecases.credentials_entry import enter_credential
from tests.stack import Stack
from tests.support import snapshot


def _oauth2(stack: Stack, *, client_secret: str | None = None) -> str:
    """A custom OAuth 2 service on the test provider and an admin connection to it."""
    service: dict[str, Any] = yaml.safe_load(stack.oauth2_service())
    service["base_url"] = f"{stack.provider.base_url}/api/oauth2"
    if client_secret is not None:
        service["oauth2"]["client_secret"] = client_secret
    return _connect(stack, service, scopes=["read"])


def _api_key(stack: Stack, level: str = "admin") -> str:
    p = stack.provider.base_url
    service = {
        "name": "Keys",
        "link_name": "keys_svc",
        "base_url": f"{p}/api/apikey",
        "auth_type": "api_key",
        "api_key": {
            "parameters": [{"param_type": "header", "name": "X-Api-Key", "display_name": "Key"}]
        },
        "test_url": f"{p}/api/apikey/me",
        "allow_user_level": True,
    }
    return _connect(stack, service, level=level)


def _connect(stack: Stack, service: dict[str, Any], **connection: Any) -> str:
    api = stack.api("dev")
    created = api.post("/services", json=service)
    assert created.status_code == 201, created.text
    made = api.post("/connections", json={"service": service["link_name"], **connection})
    assert made.status_code == 201, made.text
    return str(made.json()["link_name"])


def _consent(stack: Stack, link: str) -> int:
    started = stack.api("dev").post(f"/connections/{link}/consents", json={})
    assert started.status_code == 201, started.text
    return stack.browser().get(started.json()["authorize_url"]).status_code


def _authorizations(stack: Stack, link: str) -> list[dict[str, Any]]:
    shown = stack.api("dev").get(f"/connections/{link}")
    assert shown.status_code == 200, shown.text
    return list(shown.json()["authorizations"])


def _invoke(stack: Stack, link: str, url: str) -> Any:
    return stack.api("dev").post("/invoke", json={"connection": link, "url": url})


def test_a_denied_consent_leaves_the_authorization_failed_with_the_providers_error(
    stack: Stack,
) -> None:
    link = _oauth2(stack)
    stack.provider.state.consent_mode = ConsentMode.DENY
    assert _consent(stack, link) == 400
    [authorization] = _authorizations(stack, link)
    assert authorization["status"] == "failed"
    assert "access_denied" in authorization["status_detail"]
    assert authorization["account_name"] is None
    assert snapshot(stack.runtime.database)["accounts"] == []


def test_a_failed_code_exchange_leaves_it_failed_with_the_providers_error_and_no_secret(
    stack: Stack,
) -> None:
    link = _oauth2(stack, client_secret="wrong-client-secret-value")
    assert _consent(stack, link) == 400
    [authorization] = _authorizations(stack, link)
    assert authorization["status"] == "failed"
    detail = authorization["status_detail"]
    assert detail.startswith("the code exchange failed: token endpoint HTTP 401 (invalid_client)")
    stored = snapshot(stack.runtime.database)
    assert stored["accounts"] == []
    assert "wrong-client-secret-value" not in str(stored["authorizations"])
    assert "wrong-client-secret-value" not in str(stored["audit_events"])


def test_invoking_through_a_failed_authorization_says_why(stack: Stack) -> None:
    link = _oauth2(stack)
    stack.provider.state.consent_mode = ConsentMode.DENY
    _consent(stack, link)
    answer = _invoke(stack, link, f"{stack.provider.base_url}/api/oauth2/me")
    assert answer.status_code == 424, answer.text
    assert "the authorization failed: the provider said access_denied" in answer.text


def test_a_successful_consent_after_a_failed_one_connects(stack: Stack) -> None:
    link = _oauth2(stack)
    stack.provider.state.consent_mode = ConsentMode.DENY
    _consent(stack, link)
    stack.provider.state.consent_mode = ConsentMode.APPROVE
    assert _consent(stack, link) == 200
    [authorization] = _authorizations(stack, link)
    assert authorization["status"] == "connected" and authorization["status_detail"] is None


def test_a_failed_switch_keeps_the_working_account_connected(stack: Stack) -> None:
    link = _oauth2(stack)
    assert _consent(stack, link) == 200
    before = _authorizations(stack, link)
    stack.provider.state.consent_mode = ConsentMode.DENY
    assert _consent(stack, link) == 400
    assert _authorizations(stack, link) == before
    answer = _invoke(stack, link, f"{stack.provider.base_url}/api/oauth2/me")
    assert answer.status_code == 200, answer.text


def test_a_credential_the_test_call_rejects_leaves_it_failed_without_the_secret(
    stack: Stack,
) -> None:
    link = _api_key(stack)
    with pytest.raises(ValidationError, match="the service refused it"):
        enter_credential(
            stack.runtime, stack.members("dev"), connection=link,
            values={"Key": "rejected-api-key-value"},
        )  # fmt: skip
    [authorization] = _authorizations(stack, link)
    assert authorization["status"] == "failed"
    assert authorization["status_detail"] == (
        "the service refused it: its test call answered HTTP 401 (invalid_api_key)"
    )
    stored = snapshot(stack.runtime.database)
    assert stored["accounts"] == []
    assert "rejected-api-key-value" not in str(stored)
    [summary] = enter_credential(
        stack.runtime, stack.members("dev"), connection=link, values={"Key": DEMO_API_KEY}
    )
    assert summary.status.value == "connected" and summary.status_detail is None


def test_a_rejected_credential_from_someone_who_may_not_authorize_changes_nothing(
    stack: Stack,
) -> None:
    link = _api_key(stack, level="user")
    before = snapshot(stack.runtime.database)
    with pytest.raises(ValidationError):  # a user may not authorize for somebody else
        enter_credential(
            stack.runtime, stack.members("user"), connection=link, values={"Key": "nope"},
            owner="root@acme.test",
        )  # fmt: skip
    assert snapshot(stack.runtime.database) == before


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_editing_or_deleting_the_service_leaves_its_connections_not_connected(
    stack: Stack, change: str
) -> None:
    link = _api_key(stack)
    enter_credential(
        stack.runtime, stack.members("dev"), connection=link, values={"Key": DEMO_API_KEY}
    )
    api = stack.api("dev")
    if change == "edit":
        shown = api.get("/services/keys_svc").json()["definition"]
        shown["api_key"]["parameters"][0]["display_name"] = "API key"
        changed = api.put("/services/keys_svc", json=shown)
    else:
        changed = api.delete("/services/keys_svc")
    assert changed.status_code == 200, changed.text
    assert changed.json()["revoked_authorizations"] == 1
    [authorization] = _authorizations(stack, link)
    assert authorization["status"] == "not_connected"
    assert authorization["status_detail"] == f"service {change.removesuffix('e')}ed"
    assert authorization["account_name"] is None
    assert snapshot(stack.runtime.database)["accounts"] == []
    answer = _invoke(stack, link, f"{stack.provider.base_url}/api/apikey/me")
    assert answer.status_code == 424, answer.text
