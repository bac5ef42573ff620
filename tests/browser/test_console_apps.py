"""Apps in the console, the reference's story in a browser: a developer creates an app and a
component that uses connections, publishes it to stage and downloads its package; a client
admin installs the file, sees the install report and the app's connections panel with its
Authorize button, grants the app and makes an app token (shown once); a client `user` granted the
app sees only its logged-in user connection and is told to contact the admin. Every page passes
axe-core; screenshots apps-*-light/-dark."""

from __future__ import annotations

import json
from pathlib import Path

from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.usecases import identity
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.service_catalog import Services
from tests.browser.conftest import PASSWORD, Console


def _world(web: Console) -> None:
    """Workspaces of this test's own (the session's acme and globex stay as other tests expect
    them): dev builds in `estates` and is an admin of the client `northwind`, where the clerk is
    a user. In `estates`, a service with an admin and a user-level connection."""
    with web.runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "estates", WorkspaceKind.DEVELOPER)
        identity.create_workspace(unit, OPERATOR, "northwind", WorkspaceKind.CLIENT)
        for workspace, role in (("estates", Role.DEVELOPER), ("northwind", Role.ADMIN)):
            identity.add_user(unit, OPERATOR, email="dev@acme.test", role=role, workspace=workspace)
        identity.add_user(
            unit, OPERATOR, email="clerk@northwind.test", role=Role.USER, workspace="northwind",
            password=PASSWORD,
        )  # fmt: skip
    dev = web.as_("dev@acme.test", "estates")
    Services(web.runtime, dev).create(
        {
            "name": "Estate Books", "link_name": "estate_books",
            "base_url": web.provider.base_url, "auth_type": "api_key", "allow_user_level": True,
            "api_key": {"parameters": [
                {"param_type": "header", "name": "X-Api-Key", "display_name": "API key"}
            ]},
        }
    )  # fmt: skip
    connections = Connections(web.runtime, dev)
    connections.create(service="estate_books", name="Books", link_name="books", level="admin")
    connections.create(service="estate_books", name="Sheets", link_name="sheets", level="user")


def test_build_publish_install_and_the_connections_panel_per_role(
    web: Console, tmp_path: Path
) -> None:
    _world(web)

    # A developer: the empty list says how to start; a bad link name is refused next to it.
    page = web.login("dev@acme.test", workspace="estates")
    page.click("header nav >> text=Apps")
    assert "Create an app" in page.inner_text("#apps-empty")
    web.check(page, "apps-empty")
    page.click("a:has-text('New app')")
    page.fill("#name", "Property sales")
    page.fill("#link_name", "Property Sales!")
    page.click("#create-app")
    assert page.get_attribute("#link_name", "aria-invalid") == "true"
    assert page.input_value("#name") == "Property sales"
    web.check(page, "apps-new-error")
    page.fill("#link_name", "property_sales")
    page.click("#create-app")
    page.wait_for_url("**/console/apps/property_sales")

    # A component that uses both connections (a form through the keyboard's own controls).
    page.click("#add-component")
    page.select_option("#kind", "form")
    page.fill("#name", "Listings")
    page.check("input[name=connections][value=books]")
    page.check("input[name=connections][value=sheets]")
    web.check(page, "apps-component")
    page.click("#save-component")
    row = page.locator("#components tr[data-component='form/Listings']")
    assert "books" in row.inner_text() and "sheets" in row.inner_text()
    links = page.locator("#app-connections tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.linkName)"
    )
    assert links == ["books", "sheets"]
    web.check(page, "apps-details")

    # Publish to stage (the components chosen), then download the package file.
    page.click("a:has-text('Publish to stage')")
    assert page.is_checked("input[name=components][value='form/Listings']")
    web.check(page, "apps-publish")
    page.click("#publish")
    assert "Published version 1 to stage" in page.inner_text(".notice")
    assert page.locator("nav.tabs a[aria-current=page]").inner_text() == "Stage"
    with page.expect_download() as download_info:
        page.click("#versions a:has-text('Download')")
    download = download_info.value
    assert download.suggested_filename == "property_sales-1.plugboard.json"
    package = tmp_path / download.suggested_filename
    download.save_as(package)
    content = json.loads(package.read_text())
    assert sorted(c["link_name"] for c in content["connections"]) == ["books", "sheets"]
    assert "digest" in content

    # A client admin installs the file and reads the report.
    admin = web.login("dev@acme.test", workspace="northwind")
    admin.goto("/console/apps")
    assert "Install a package" in admin.inner_text("#apps-empty")
    admin.click("#apps-empty a:has-text('Install a package')")
    admin.set_input_files("#package", str(package))
    admin.click("#install-package")
    assert admin.inner_text("#report-added") == "books, sheets"
    assert admin.inner_text("#report-reauth") == "none"
    web.check(admin, "apps-install")
    admin.click("#install-report a:has-text('authorize its connections')")
    assert admin.locator("#slider-panel [data-link-name]").count() == 2  # the panel as a page
    web.check(admin)

    # The connections panel (the slider): the admin may authorize the admin connection.
    admin.goto("/console/apps/property_sales")
    admin.click("#open-panel")
    panel = admin.locator("#slider #slider-panel")
    panel.wait_for()
    assert admin.evaluate("document.activeElement.id") == "slider-panel"
    books = panel.locator("[data-link-name=books]")
    assert "Not connected" in books.inner_text() and "Estate Books" in books.inner_text()
    authorize = books.locator("a:has-text('Authorize')")
    assert authorize.get_attribute("href") == (
        "/console/connections/books/authorize?environment=production"
    )
    sheets = panel.locator("[data-link-name=sheets]")
    assert sheets.locator("a:has-text('Authorize')").count() == 0
    assert "super admin must authorize it first" in sheets.inner_text()
    web.check(admin, "apps-panel")
    admin.keyboard.press("Escape")
    assert admin.locator("#slider-panel").count() == 0
    assert admin.evaluate("document.activeElement.id") == "open-panel"
    admin.goto("/console/connections/books/authorize?environment=production")
    assert admin.inner_text("h1") == "Authorize Books"

    # App users: grant the app to the clerk; an app token, its secret shown once.
    admin.goto("/console/apps/property_sales/users")
    admin.fill("#grant-email", "clerk@northwind.test")
    admin.click("#grant")
    assert "clerk@northwind.test can now use the app." in admin.inner_text(".notice")
    assert admin.locator("#app-users tr[data-email='clerk@northwind.test']").count() == 1
    web.check(admin, "apps-users")
    admin.goto("/console/apps/property_sales/tokens")
    admin.fill("#token-name", "listings-backend")
    admin.click("#create-token")
    secret = admin.inner_text("#token-secret")
    assert secret.startswith("pba_")
    web.check(admin, "apps-tokens")
    admin.goto("/console/apps/property_sales/tokens")
    assert secret not in admin.content()
    admin.click("#app-tokens button:has-text('Revoke')")
    assert "Revoked token listings-backend" in admin.inner_text(".notice")

    # The clerk: only the granted app, only its logged-in user connection, "contact your admin".
    clerk = web.login("clerk@northwind.test", workspace="northwind")
    clerk.goto("/console/apps")
    cards = clerk.locator("#app-cards li").evaluate_all("els => els.map(e => e.dataset.linkName)")
    assert cards == ["property_sales"]
    web.check(clerk, "apps-list")
    assert clerk.locator("a:has-text('Install a package')").count() == 0
    clerk.click("#app-cards a.title")
    assert clerk.locator("main a[href$='/tokens'], main a[href$='/users']").count() == 0
    clerk.click("#open-panel")
    clerk.locator("#slider-panel").wait_for()
    entries = clerk.locator("#slider-panel .slider-entry").evaluate_all(
        "els => els.map(e => e.dataset.linkName)"
    )
    assert entries == ["sheets"]
    entry = clerk.locator("#slider-panel [data-link-name=sheets]")
    assert entry.locator("a:has-text('Authorize')").count() == 0
    assert "contact your admin" in entry.locator(".who-must-act").inner_text()
    web.check(clerk, "apps-panel-user")
