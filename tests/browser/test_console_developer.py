"""A developer in the console: a custom service and connections, an OAuth consent through the
provider's page and a credential form, rename, switch, revoke, delete refused while referenced,
the audit log and API tokens. Every page passes axe-core."""

from __future__ import annotations

import re
from typing import Any

from plugboard.domain.models import ComponentType, Environment
from plugboard.testing.provider_state import DEMO_BASIC_PASSWORD, DEMO_BASIC_USER, ClientAuth
from plugboard.testing.provider_state.records import ConsentMode
from plugboard.usecases.connection_service import Connections
from tests.browser.conftest import Console
from tests.support import add_reference


def _consent(web: Console, page: Any, account: dict[str, str]) -> None:
    """From a connection's authorize page: start the consent, approve it on the provider's
    page in the new tab, and wait for the console to show the real outcome."""
    web.provider.state.next_account = account
    page.click("#start-consent")
    seconds = int(page.inner_text("#countdown .seconds"))
    assert 80 <= seconds <= 90
    web.check(page, "consent-countdown" if account["sub"] == "ada" else None)
    with page.expect_popup() as popup_info:
        page.click("#provider-link")
    popup = popup_info.value
    popup.click("#approve")
    popup.wait_for_selector("#outcome")
    assert popup.inner_text("#outcome").strip() == "Connected"
    popup.close()
    outcome = page.wait_for_selector("#consent-outcome")
    assert "Connected." in outcome.inner_text()


def test_developer_builds_authorizes_switches_and_revokes(web: Console) -> None:
    provider = web.provider
    provider.state.consent_mode = ConsentMode.PAGE
    client = provider.state.register_oauth2_client(
        redirect_uris=[f"{web.base_url}/oauth/callback"], auth_method=ClientAuth.POST
    )
    web.typed_secrets.add(client.client_secret)
    page = web.login("dev@acme.test")
    assert page.inner_text("#results .empty").startswith("No connections yet.")
    web.check(page, "connections-empty")

    # The catalog: category filter and search.
    page.goto("/console/services?category=CRM&search=sales")
    cards = page.locator("#service-cards li")
    assert "salesforce" in cards.evaluate_all("els => els.map(e => e.dataset.linkName)")
    web.check(page, "services")

    # A custom OAuth 2 service: a bad link name is refused next to its field, typed text kept.
    page.goto("/console/services/new?auth_type=oauth2")
    p = provider.base_url
    for name, value in {
        "name": "Test Provider", "link_name": "Test Provider!", "category": "Testing",
        "base_url": p, "oauth2.client_id": client.client_id,
        "oauth2.client_secret": client.client_secret,
        "oauth2.authorize_url": f"{p}/oauth2/authorize",
        "oauth2.token_url": f"{p}/oauth2/token", "oauth2.revoke_url": f"{p}/oauth2/revoke",
        "oauth2.scopes.0.name": "read", "oauth2.scopes.0.description": "Read things",
    }.items():  # fmt: skip
        page.fill(f"[name='{name}']", value)
    page.click("#save-service")
    assert page.get_attribute("#f-link_name", "aria-invalid") == "true"
    assert "must match" in page.inner_text("#link_name-error")
    assert page.input_value("#f-name") == "Test Provider"
    assert page.input_value("#f-oauth2-client_secret") == ""  # write-only
    web.check(page, "service-form-error")
    page.fill("#f-link_name", "tp")
    page.fill("#f-oauth2-client_secret", client.client_secret)
    page.click("#save-service")
    page.wait_for_url("**/console/services/tp")

    # Editing shows what can never change, read-only, with the reason.
    page.goto("/console/services/tp/edit")
    assert page.get_attribute("#f-link_name", "readonly") is not None
    assert "can never be changed" in page.inner_text("#f-link_name-reason")
    assert "grant type" in page.inner_text("#f-grant-reason")
    web.check(page, "service-edit")

    # A connection with it, authorized through the provider's consent page.
    page.goto("/console/connections/new?service=tp")
    page.check("input[name=scope][value=read]")
    page.click("#create-connection")
    page.wait_for_url("**/console/connections/test_provider_connection")
    page.click("a:has-text('Authorize')")
    _consent(web, page, {"sub": "ada", "name": "Ada"})
    page.click("text=Back to the connection")
    row = page.locator("tr[data-environment=all]")
    assert "Connected" in row.inner_text()
    web.check(page, "connection-details")

    # Rename the authorized account.
    page.fill("#account-all", "Ada at the provider")
    page.click("tr[data-environment=all] button:has-text('Rename')")
    assert "now named Ada at the provider" in page.inner_text(".notice")
    assert page.input_value("#account-all") == "Ada at the provider"

    # Switch to another account through a new consent (the old one is offered for reuse).
    page.click("a:has-text('Switch account')")
    assert page.locator("#account option").all_inner_texts() == ["Ada at the provider"]
    web.check(page, "authorize-oauth")
    _consent(web, page, {"sub": "bob", "name": "Bob"})
    page.goto("/console/connections/test_provider_connection")
    assert "Ada at the provider" not in page.input_value("#account-all")

    # Revoke (the confirmation is accepted by the context's dialog handler).
    page.click("tr[data-environment=all] button:has-text('Revoke')")
    assert "Authorization revoked." in page.inner_text(".notice")
    assert "Revoked" in page.locator("tr[data-environment=all]").inner_text()

    # Rename the connection in place (htmx).
    page.click("#edit-name")
    page.fill("#conn-name-input", "   ")
    page.click("#conn-name button[type=submit]")
    assert page.inner_text("#conn-name-error")  # refused next to the field, nothing saved
    page.fill("#conn-name-input", "Provider sync")
    page.click("#conn-name button[type=submit]")
    page.wait_for_selector("#connection-title:has-text('Provider sync')")


def test_credential_form_and_delete_refused_with_references(web: Console) -> None:
    page = web.login("dev@acme.test")
    page.goto("/console/services/new?auth_type=basic")
    page.fill("#f-name", "Basic API")
    page.fill("#f-link_name", "basic_api")
    page.fill("#f-base_url", web.provider.base_url)
    page.click("#save-service")
    page.wait_for_url("**/console/services/basic_api")
    page.goto("/console/connections/new?service=basic_api")
    page.fill("#link_name", "basic_books")
    page.check("input[name=per_environment]")
    page.click("#create-connection")
    page.wait_for_url("**/console/connections/basic_books")
    assert page.locator("tbody tr").count() == 3  # one authorization per environment

    # The credential form: an empty password is refused next to it; the username is kept.
    page.click("tr[data-environment=stage] a:has-text('Authorize')")
    page.fill("input[name='cred.username']", DEMO_BASIC_USER)
    page.click("#save-credential")
    assert page.locator("#cred-password-error").inner_text() == "a value is required"
    assert page.input_value("input[name='cred.username']") == DEMO_BASIC_USER
    web.check(page, "authorize-credential-error")
    page.fill("input[name='cred.password']", DEMO_BASIC_PASSWORD)
    page.click("#save-credential")
    assert "Connected Basic API Account 1." in page.inner_text(".notice")
    assert "Connected" in page.locator("tr[data-environment=stage]").inner_text()
    assert "Not connected" in page.locator("tr[data-environment=production]").inner_text()

    # Delete is refused while an app component uses the connection, listing it.
    details = Connections(web.runtime, web.as_("dev@acme.test")).get("basic_books")
    add_reference(
        web.runtime.database, workspace_id=web.as_("dev@acme.test").workspace_id or "",
        connection_id=details.id, app_link_name="sales", component_type=ComponentType.WORKFLOW,
        component_name="sync invoices", environment=Environment.STAGE,
    )  # fmt: skip
    page.reload()
    page.click("#delete-connection")
    refused = page.inner_text("#delete-refused")
    assert "cannot be deleted" in refused and "sync invoices" in refused and "sales" in refused
    web.check(page, "delete-refused")

    # Times are shown in the viewer's zone (the context is in Asia/Tokyo).
    when = page.locator("time[data-local]").first
    assert "UTC" in (when.get_attribute("title") or "")
    assert re.search(r"GMT\+9|JST", when.inner_text())

    # The audit log with a filter, then API tokens: shown once, then only their prefix.
    page.goto("/console/audit?action=connection.create")
    actions = page.locator("#audit-events tbody td:nth-child(3)").all_inner_texts()
    assert actions and set(actions) == {"connection.create"}
    web.check(page, "audit")
    page.goto("/console/tokens")
    page.fill("#token-name", "laptop")
    page.click("button:has-text('Create token')")
    secret = page.inner_text("#token-secret")
    assert secret.startswith("pbt_")
    web.check(page, "tokens")
    page.goto("/console/tokens")
    assert secret not in page.content()
    page.click("button:has-text('Revoke')")
    assert "Revoked token laptop" in page.inner_text(".notice")
