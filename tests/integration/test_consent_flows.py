"""Consent flows end to end over real HTTP on 127.0.0.1 (SPEC §5): Plugboard's server and the
test provider each on their own port; the browser is an httpx2 client following redirects."""

from __future__ import annotations

import textwrap

import httpx2
import pytest
import yaml

from plugboard.testing.provider_state import ClientAuth, ConsentMode
from tests.stack import Stack
from tests.support import snapshot


def _create(stack: Stack, service: str, **connection: object) -> str:
    api = stack.api("dev")
    created = api.post("/services", json=yaml.safe_load(service))
    assert created.status_code == 201, created.text
    body = {"service": created.json()["link_name"], "scopes": ["read"], **connection}
    made = api.post("/connections", json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["link_name"])


def _consent(stack: Stack, api: httpx2.Client, link: str, **body: object) -> dict[str, str]:
    started = api.post(f"/connections/{link}/consents", json=body)
    assert started.status_code == 201, started.text
    return dict(started.json())


def test_an_oauth2_consent_with_pkce_connects_the_account(stack: Stack) -> None:
    link = _create(stack, stack.oauth2_service())
    dev = stack.api("dev")
    started = _consent(stack, dev, link)
    assert "code_challenge=" in started["authorize_url"]

    page = stack.browser().get(started["authorize_url"])

    assert page.status_code == 200 and "Connected" in page.text, page.text
    shown = dev.get(f"/connections/{link}").json()
    [authorization] = shown["authorizations"]
    assert authorization["status"] == "connected"
    assert authorization["account_name"] == stack.provider.state.next_account.email
    exchanges = [c for c in stack.provider.state.calls_to("oauth2.token") if c.status == 200]
    assert [c.grant_type for c in exchanges] == ["authorization_code"]
    status = dev.get(f"/consents/{started['flow_id']}").json()
    assert status["state"] == "completed"


@pytest.mark.parametrize("method", [ClientAuth.BASIC, ClientAuth.POST])
def test_the_token_request_authenticates_the_client_as_the_service_declares(
    stack: Stack, method: ClientAuth
) -> None:
    link = _create(stack, stack.oauth2_service(auth_method=method))
    started = _consent(stack, stack.api("dev"), link)
    assert stack.browser().get(started["authorize_url"]).status_code == 200
    [exchange] = stack.provider.state.calls_to("oauth2.token")
    assert exchange.client_auth == method.value and exchange.status == 200


def test_a_consent_completed_after_90_seconds_is_refused_and_changes_nothing(
    stack: Stack,
) -> None:
    link = _create(stack, stack.oauth2_service())
    started = _consent(stack, stack.api("dev"), link)
    stack.runtime.clock.advance(91)  # type: ignore[attr-defined]
    before = snapshot(stack.runtime.database)

    page = stack.browser().get(started["authorize_url"])

    assert page.status_code == 400 and "90-second consent window passed" in page.text
    after = snapshot(stack.runtime.database)
    assert after["accounts"] == before["accounts"] == []
    assert after["authorizations"] == before["authorizations"]


def test_a_consent_inside_the_window_still_works_at_89_seconds(stack: Stack) -> None:
    link = _create(stack, stack.oauth2_service())
    started = _consent(stack, stack.api("dev"), link)
    stack.runtime.clock.advance(89)  # type: ignore[attr-defined]
    assert stack.browser().get(started["authorize_url"]).status_code == 200


def test_a_replayed_state_is_refused(stack: Stack) -> None:
    link = _create(stack, stack.oauth2_service())
    started = _consent(stack, stack.api("dev"), link)
    browser = stack.browser()
    first = browser.get(started["authorize_url"])
    callback = str(first.url)
    assert "/oauth/callback?" in callback
    accounts_before = snapshot(stack.runtime.database)["accounts"]

    replay = browser.get(callback)

    assert replay.status_code == 400 and "already used" in replay.text
    assert snapshot(stack.runtime.database)["accounts"] == accounts_before


def test_a_forged_state_is_refused(stack: Stack) -> None:
    before = snapshot(stack.runtime.database)
    page = stack.browser().get(f"{stack.base_url}/oauth/callback?state=forged&code=abc")
    assert page.status_code == 400 and "Unknown or forged state" in page.text
    assert snapshot(stack.runtime.database) == before


def test_access_denied_is_shown_and_changes_nothing(stack: Stack) -> None:
    link = _create(stack, stack.oauth2_service())
    started = _consent(stack, stack.api("dev"), link)
    stack.provider.state.consent_mode = ConsentMode.DENY

    page = stack.browser().get(started["authorize_url"])

    assert page.status_code == 400 and "access_denied" in page.text
    assert snapshot(stack.runtime.database)["accounts"] == []
    status = stack.api("dev").get(f"/consents/{started['flow_id']}").json()
    assert status["state"] == "failed"


def test_revoking_calls_the_providers_revoke_endpoint(stack: Stack) -> None:
    link = _create(stack, stack.oauth2_service())
    dev = stack.api("dev")
    stack.browser().get(_consent(stack, dev, link)["authorize_url"])

    revoked = dev.post(f"/connections/{link}/authorizations/revoke", json={})

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["provider"] == "revoked"
    [call] = stack.provider.state.calls_to("oauth2.revoke")
    assert call.status == 200 and call.token_type_hint == "refresh_token"
    assert snapshot(stack.runtime.database)["accounts"] == []


def _per_env(stack: Stack) -> tuple[httpx2.Client, str]:
    link = _create(stack, stack.oauth2_service(), per_environment=True)
    dev = stack.api("dev")
    started = _consent(stack, dev, link, environments=["development"])
    assert stack.browser().get(started["authorize_url"]).status_code == 200
    return dev, link


def test_a_per_environment_consent_authorizes_only_the_named_environment(stack: Stack) -> None:
    dev, link = _per_env(stack)
    authorizations = dev.get(f"/connections/{link}/authorizations").json()["items"]
    assert [(a["environment"], a["status"]) for a in authorizations] == [
        ("development", "connected")
    ]


def test_an_environment_can_reuse_an_account_linked_for_another(stack: Stack) -> None:
    dev, link = _per_env(stack)
    account = dev.get(f"/connections/{link}/authorizations").json()["items"][0]["account_name"]
    reused = dev.post(
        f"/connections/{link}/authorizations/reuse",
        json={"environment": "stage", "account": account},
    )
    assert reused.status_code == 200, reused.text
    items = dev.get(f"/connections/{link}/authorizations").json()["items"]
    assert {(a["environment"], a["account_name"]) for a in items} == {
        ("development", account),
        ("stage", account),
    }
    assert len(snapshot(stack.runtime.database)["accounts"]) == 1


def test_revoking_one_environment_leaves_the_other_using_the_same_account(stack: Stack) -> None:
    dev, link = _per_env(stack)
    account = dev.get(f"/connections/{link}/authorizations").json()["items"][0]["account_name"]
    dev.post(
        f"/connections/{link}/authorizations/reuse",
        json={"environment": "stage", "account": account},
    )

    revoked = dev.post(
        f"/connections/{link}/authorizations/revoke", json={"environment": "development"}
    ).json()

    assert revoked["provider"].startswith("not called")
    assert stack.provider.state.calls_to("oauth2.revoke") == []
    items = {
        a["environment"]: a["status"]
        for a in dev.get(f"/connections/{link}/authorizations").json()["items"]
    }
    assert items == {"development": "revoked", "stage": "connected"}


def test_a_client_workspace_authorizes_only_production(stack: Stack) -> None:
    api = stack.api("admin", "globex")
    created = api.post("/services", json=yaml.safe_load(stack.oauth2_service()))
    assert created.status_code == 201, created.text
    api.post(
        "/connections",
        json={"service": "tp", "scopes": ["read"], "link_name": "tp_conn", "per_environment": True},
    )
    refused = api.post("/connections/tp_conn/consents", json={"environments": ["development"]})
    assert refused.status_code == 422 and refused.json()["field"] == "environment"
    assert (
        api.post("/connections/tp_conn/consents", json={"environments": ["production"]}).status_code
        == 201
    )


def test_a_user_cannot_start_a_consent_for_an_admin_connection(stack: Stack) -> None:
    link = _create(stack, stack.oauth2_service())
    refused = stack.api("user").post(f"/connections/{link}/consents", json={})
    assert refused.status_code in (403, 404)


def _oauth1_service(stack: Stack) -> str:
    consumer = stack.provider.state.register_oauth1_consumer()
    p = stack.provider.base_url
    return textwrap.dedent(f"""
        name: Test Provider One
        link_name: tp1
        base_url: {p}
        auth_type: oauth1
        oauth1:
          consumer_key: {consumer.key}
          consumer_secret: {consumer.secret}
          request_token_url: {p}/oauth1/request_token
          authorize_url: {p}/oauth1/authorize
          access_token_url: {p}/oauth1/access_token
          param_type: header
        account_name: {{source: token_response, field: screen_name}}
    """)


def test_an_oauth1_three_legged_consent_connects_the_account(stack: Stack) -> None:
    api = stack.api("dev")
    assert api.post("/services", json=yaml.safe_load(_oauth1_service(stack))).status_code == 201
    assert (
        api.post("/connections", json={"service": "tp1", "link_name": "tp1_conn"}).status_code
        == 201
    )
    started = _consent(stack, api, "tp1_conn")
    assert "oauth_token=" in started["authorize_url"]

    page = stack.browser().get(started["authorize_url"])

    assert page.status_code == 200 and "Connected" in page.text, page.text
    [authorization] = api.get("/connections/tp1_conn/authorizations").json()["items"]
    assert authorization["status"] == "connected"
    assert authorization["account_name"] == stack.provider.state.next_account.preferred_username


def test_an_oauth1_consent_the_provider_denies_changes_nothing(stack: Stack) -> None:
    api = stack.api("dev")
    api.post("/services", json=yaml.safe_load(_oauth1_service(stack)))
    api.post("/connections", json={"service": "tp1", "link_name": "tp1_conn"})
    started = _consent(stack, api, "tp1_conn")
    stack.provider.state.consent_mode = ConsentMode.DENY
    page = stack.browser().get(started["authorize_url"])
    assert page.status_code == 400
    assert snapshot(stack.runtime.database)["accounts"] == []


# -- role rules of SPEC §4–§5 ---------------------------------------------------------------


def _user_level(stack: Stack) -> str:
    return _create(stack, stack.oauth2_service(), level="user")


def _authorize(stack: Stack, name: str, link: str, email: str | None = None) -> httpx2.Response:
    api = stack.api(name)
    if email is not None:
        stack.provider.state.next_account = {
            "sub": email, "name": name, "email": email, "preferred_username": name,
        }  # fmt: skip
    started = api.post(f"/connections/{link}/consents", json={})
    assert started.status_code == 201, started.text
    return stack.browser().get(started.json()["authorize_url"])


def test_the_first_super_admin_to_authorize_a_user_connection_becomes_primary(
    stack: Stack,
) -> None:
    link = _user_level(stack)
    assert _authorize(stack, "root", link, "root@provider.test").status_code == 200
    [row] = stack.api("root").get(f"/connections/{link}/authorizations").json()["items"]
    assert row["is_primary"] and row["owner_email"] == "root@acme.test"


def test_users_cannot_authorize_a_user_connection_before_a_primary_exists(stack: Stack) -> None:
    """Refused when the consent starts, before anyone is sent to the provider: no flow."""
    link = _user_level(stack)
    before = snapshot(stack.runtime.database)
    started = stack.api("user").post(f"/connections/{link}/consents", json={})
    assert started.status_code == 409 and "primary" in started.text
    after = snapshot(stack.runtime.database)
    # Only the audit trail of the refused request and the token's last use change.
    unchanged = set(before) - {"audit_events", "api_tokens"}
    assert {t: after[t] for t in unchanged} == {t: before[t] for t in unchanged}
    assert after["oauth_flows"] == []


def test_each_user_authorizes_a_user_connection_for_themselves(stack: Stack) -> None:
    link = _user_level(stack)
    _authorize(stack, "root", link, "root@provider.test")
    assert _authorize(stack, "user", link, "u@provider.test").status_code == 200
    rows = stack.api("root").get(f"/connections/{link}/authorizations").json()["items"]
    assert {(r["owner_email"], r["account_name"], r["is_primary"]) for r in rows} == {
        ("root@acme.test", "root@provider.test", True),
        ("user@acme.test", "u@provider.test", False),
    }


def test_a_user_sees_only_their_own_authorization(stack: Stack) -> None:
    link = _user_level(stack)
    _authorize(stack, "root", link, "root@provider.test")
    _authorize(stack, "user", link, "u@provider.test")
    rows = stack.api("user").get(f"/connections/{link}/authorizations").json()["items"]
    assert [r["owner_email"] for r in rows] == ["user@acme.test"]


def test_authorizations_are_searchable_and_filterable(stack: Stack) -> None:
    link = _user_level(stack)
    _authorize(stack, "root", link, "root@provider.test")
    _authorize(stack, "user", link, "u@provider.test")
    _authorize(stack, "dev", link, "d@provider.test")
    root = stack.api("root")
    by_email = root.get(f"/connections/{link}/authorizations", params={"search": "dev@"}).json()
    by_role = root.get(f"/connections/{link}/authorizations", params={"user_type": "user"}).json()
    assert [r["owner_email"] for r in by_email["items"]] == ["dev@acme.test"]
    assert [r["owner_email"] for r in by_role["items"]] == ["user@acme.test"]


def test_a_super_admin_cannot_revoke_another_users_authorization(stack: Stack) -> None:
    link = _user_level(stack)
    _authorize(stack, "root", link, "root@provider.test")
    _authorize(stack, "user", link, "u@provider.test")
    refused = stack.api("root").post(
        f"/connections/{link}/authorizations/revoke", json={"owner": "user@acme.test"}
    )
    assert refused.status_code == 403


def test_a_user_may_revoke_their_own_authorization(stack: Stack) -> None:
    link = _user_level(stack)
    _authorize(stack, "root", link, "root@provider.test")
    _authorize(stack, "user", link, "u@provider.test")
    revoked = stack.api("user").post(f"/connections/{link}/authorizations/revoke", json={})
    assert revoked.status_code == 200 and revoked.json()["primary_warning"] is None


def test_revoking_the_primary_account_is_allowed_with_a_warning(stack: Stack) -> None:
    link = _user_level(stack)
    _authorize(stack, "root", link, "root@provider.test")
    revoked = stack.api("root").post(f"/connections/{link}/authorizations/revoke", json={})
    assert revoked.status_code == 200
    assert "primary account" in revoked.json()["primary_warning"]


def test_only_a_super_admin_moves_the_primary_account(stack: Stack) -> None:
    link = _user_level(stack)
    _authorize(stack, "root", link, "root@provider.test")
    _authorize(stack, "dev", link, "d@provider.test")
    body = {"owner": "dev@acme.test"}
    assert (
        stack.api("dev").post(f"/connections/{link}/authorizations/primary", json=body).status_code
        == 403
    )
    moved = stack.api("root").post(f"/connections/{link}/authorizations/primary", json=body)
    assert moved.status_code == 200 and moved.json()["is_primary"]
    rows = stack.api("root").get(f"/connections/{link}/authorizations").json()["items"]
    assert [r["owner_email"] for r in rows if r["is_primary"]] == ["dev@acme.test"]


def test_the_owner_can_rename_the_authorized_account(stack: Stack) -> None:
    link = _user_level(stack)
    _authorize(stack, "root", link, "root@provider.test")
    renamed = stack.api("root").post(
        f"/connections/{link}/authorizations/rename", json={"name": "Ops mailbox"}
    )
    assert renamed.status_code == 200 and renamed.json()["account_name"] == "Ops mailbox"


def test_a_user_cannot_revoke_an_admin_connections_authorization(stack: Stack) -> None:
    link = _create(stack, stack.oauth2_service())
    stack.browser().get(_consent(stack, stack.api("dev"), link)["authorize_url"])
    refused = stack.api("user").post(f"/connections/{link}/authorizations/revoke", json={})
    assert refused.status_code in (403, 404)


def test_every_status_change_is_audited(stack: Stack) -> None:
    link = _create(stack, stack.oauth2_service())
    dev = stack.api("dev")
    stack.browser().get(_consent(stack, dev, link)["authorize_url"])
    dev.post(f"/connections/{link}/authorizations/revoke", json={})
    actions = [e["action"] for e in dev.get("/audit").json()["items"]]
    assert actions[:3] == ["authorization.revoke", "authorization.create", "authorization.start"]


def test_an_admin_may_authorize_but_not_switch_an_admin_connection(stack: Stack) -> None:
    link = _create(stack, stack.oauth2_service())
    admin = stack.api("admin")
    assert stack.browser().get(_consent(stack, admin, link)["authorize_url"]).status_code == 200
    switch = admin.post(f"/connections/{link}/consents", json={})
    assert switch.status_code == 403
    assert stack.api("dev").post(f"/connections/{link}/consents", json={}).status_code == 201
