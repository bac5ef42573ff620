"""A `user` sees only what SPEC §4 lets them see and is told to contact their admin; the console
in dark mode, its remembered theme, the workspace switcher and keyboard use."""

from __future__ import annotations

from plugboard.usecases.authorization_service import Authorizations
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.service_catalog import Services
from tests.browser.conftest import Console


def _key_service(web: Console, link: str) -> None:
    dev = web.as_("dev@acme.test")
    Services(web.runtime, dev).create(
        {
            "name": "Team Keys", "link_name": link, "base_url": web.provider.base_url,
            "auth_type": "api_key", "allow_user_level": True,
            "api_key": {"parameters": [
                {"param_type": "header", "name": "X-Api-Key", "display_name": "API key"}
            ]},
        }
    )  # fmt: skip
    Connections(web.runtime, dev).create(service=link, link_name=f"{link}_mine", level="user")
    Connections(web.runtime, dev).create(service=link, link_name=f"{link}_shared", level="admin")


def test_a_user_sees_only_user_connections_and_is_told_to_contact_the_admin(
    web: Console,
) -> None:
    _key_service(web, "team_keys")
    page = web.login("user@acme.test")
    links = page.locator("#connection-cards li").evaluate_all(
        "els => els.map(e => e.dataset.linkName)"
    )
    assert "team_keys_mine" in links and "team_keys_shared" not in links
    nav = page.locator("header nav").inner_text()
    assert "Audit log" not in nav and "Connections" in nav
    assert page.locator("a:has-text('New connection')").count() == 0
    web.check(page, "connections-user")

    # Builder pages are refused; an admin connection does not exist for a user.
    for path, status in (
        ("/console/audit", 403),
        ("/console/connections/new?service=team_keys", 403),
        ("/console/services/new", 403),
        ("/console/connections/team_keys_shared", 404),
    ):
        response = page.goto(path)
        assert response is not None and response.status == status, path
    assert page.inner_text("h1") == "Not found"
    web.check(page)

    # No primary account yet: the user cannot authorize and is told to contact the admin.
    page.goto("/console/connections/team_keys_mine/authorize")
    page.fill("input[name='cred.X-Api-Key']", "user-typed-key-123")
    web.typed_secrets.add("user-typed-key-123")
    page.click("#save-credential")
    error = page.inner_text("#authorize-error")
    assert "Contact your admin" in error and "super admin" in error
    assert page.input_value("input[name='cred.X-Api-Key']") == ""
    web.check(page, "authorize-contact-admin")


def test_dark_mode_theme_toggle_switcher_and_keyboard(web: Console) -> None:
    page = web.login("dev@acme.test", color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 18, 22)"  # the dark palette, following the system
    web.check(page)

    # The toggle: system → light → dark; the choice is remembered across pages.
    page.click("#theme-toggle")
    assert page.inner_text("#theme-toggle") == "Theme: light"
    page.goto("/console/services")
    assert page.get_attribute("html", "data-theme") == "light"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"
    page.click("#theme-toggle")
    page.reload()
    assert page.get_attribute("html", "data-theme") == "dark"
    web.check(page)

    # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # The workspace switcher: dev is an admin in the client workspace globex too.
    page.select_option("#workspace-switch", "globex")
    page.click("#workspace-switch ~ button")
    assert "You are now in workspace globex." in page.inner_text(".notice")
    assert "admin" in page.inner_text(".who")
    web.check(page)


def test_super_admin_views_all_authorizations_and_moves_the_primary_account(
    web: Console,
) -> None:
    _key_service(web, "crew_keys")
    for email in ("root@acme.test", "user@acme.test"):  # root first: the primary account
        Authorizations(web.runtime, web.as_(email)).enter_credential(
            "crew_keys_mine", {"X-Api-Key": f"key-of-{email}"}, account_name=email
        )
        web.typed_secrets.add(f"key-of-{email}")
    login = web.browser.new_page(base_url=web.base_url)
    login.goto("/console/login")
    web.check(login, "login")
    login.close()

    page = web.login("root@acme.test")
    page.goto("/console/connections/crew_keys_mine")
    assert "Primary account" in page.inner_text("tr[data-environment=all]")
    page.click("text=View all authorizations (2)")
    rows = page.locator("#authorizations tbody tr")
    assert rows.count() == 2
    web.check(page, "authorizations")
    page.fill("#search", "user@")
    page.click("button:has-text('Filter')")
    assert rows.count() == 1 and "user@acme.test" in rows.inner_text()
    page.click("button:has-text('Mark as primary')")
    assert "user@acme.test's account is now the primary account." in page.inner_text(".notice")
    primary = page.locator("#authorizations tbody tr:has(span.badge:text-is('Primary'))")
    assert "user@acme.test" in primary.inner_text()

    page.goto("/console/connections/new?service=crew_keys")
    web.check(page, "connection-new")
    page.goto("/console/services/crew_keys")
    web.check(page)
