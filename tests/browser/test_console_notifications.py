"""The Notifications page in a real browser, for a developer, a client workspace's admin and a
`user`: the unread count beside the navigation entry, each notice's title, local time,
connection and fix link, mark read, mute and unmute, and the empty states. Every page passes
axe-core. The notices come from real events: a scope change makes the authorizations need
re-authorizing, and the outbox's notifications consumer tells who can fix them."""

from __future__ import annotations

from typing import Any

import pytest

from plugboard.domain.models import ConnectionLevel, Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.usecases import identity
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.notifications import dispatch_events
from tests.browser.conftest import PASSWORD, Console
from tests.integration.jobs.support import OAuthWorld

# Workspaces of their own: the session's console is shared with the other browser tests.
PEOPLE = {
    ("root@bell.test", "bell"): Role.SUPER_ADMIN,
    ("dev@bell.test", "bell"): Role.DEVELOPER,
    ("user@bell.test", "bell"): Role.USER,
    ("quiet@bell.test", "bell"): Role.USER,
    ("root@bellco.test", "bellco"): Role.SUPER_ADMIN,
    ("admin@bellco.test", "bellco"): Role.ADMIN,
}


@pytest.fixture(scope="module")
def notices(console: Console) -> Console:
    runtime = console.runtime
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "bell", WorkspaceKind.DEVELOPER)
        identity.create_workspace(unit, OPERATOR, "bellco", WorkspaceKind.CLIENT)
        for (email, workspace), role in PEOPLE.items():
            identity.add_user(unit, OPERATOR, email=email, role=role, workspace=workspace,
                              password=PASSWORD)  # fmt: skip
    bell = OAuthWorld(runtime, console.provider, workspace="bell")
    bell.service("bellsvc")
    bell.connection("crm", service="bellsvc")
    bell.authorize("crm")
    bell.connection("notes", service="bellsvc", level=ConnectionLevel.USER)
    bell.authorize("notes", owner="root@bell.test")  # the primary account
    bell.authorize("notes", owner="user@bell.test")
    bellco = OAuthWorld(runtime, console.provider, workspace="bellco")
    bellco.service("bellsvc")
    bellco.connection("books", service="bellsvc")
    bellco.authorize("books")
    # A scope change: every authorization of these connections needs re-authorizing.
    with runtime.unit(write=False) as unit:
        root = identity.principal_for(unit, "root@bell.test", "bell", via="test")
        root_co = identity.principal_for(unit, "root@bellco.test", "bellco", via="test")
    Connections(runtime, root).edit("crm", scopes=["read", "write"])
    Connections(runtime, root).edit("notes", scopes=["read", "write"])
    Connections(runtime, root_co).edit("books", scopes=["read", "write"])
    dispatch_events(runtime)
    return console


def _badge(page: Any) -> str:
    link = page.locator("header nav a[href='/console/notifications']")
    return " ".join(str(link.text_content()).split())  # as a screen reader reads it


def test_a_developer_reads_follows_and_mutes(notices: Console, web: Console) -> None:
    page = web.login("dev@bell.test", workspace="bell")
    page.wait_for_selector("#unread-count")
    assert _badge(page) == "Notifications 1 unread"
    page.click("header nav a[href='/console/notifications']")
    page.wait_for_url("**/console/notifications")
    notice = page.locator("#notices li")
    assert notice.count() == 1
    text = notice.inner_text()
    assert "Test Provider Connection needs to be authorized again" in text
    assert "crm" in text and "scopes changed" in text
    # The time is shown in the viewer's zone (the context runs in Asia/Tokyo).
    page.wait_for_selector("#notices time[data-local]")
    assert page.get_attribute("#notices time", "title").endswith("UTC")  # the server's text
    assert "UTC" not in page.inner_text("#notices time")
    web.check(page, "notifications")

    page.click("#notices a:has-text('Authorize again')")
    page.wait_for_url("**/console/connections/crm/authorize?*")
    assert page.inner_text("h1") == "Authorize Test Provider Connection"
    page.go_back()

    page.click("#notices button:has-text('Mark read')")
    page.wait_for_url("**/console/notifications")
    assert page.inner_text("#unread-total") == "0 unread"
    assert page.locator("#unread-count").count() == 0
    page.click("#notices button:has-text('Mute crm')")
    assert "No more notifications about crm." in page.inner_text("p.notice")
    page.click("#notices button:has-text('Unmute crm')")
    assert page.locator("#notices button:has-text('Mute crm')").count() == 1
    web.check(page)


def test_a_user_and_a_client_admin_see_only_theirs(notices: Console, web: Console) -> None:
    page = web.login("user@bell.test", workspace="bell")
    page.goto("/console/notifications")
    text = page.locator("#notices").inner_text()
    assert "notes" in text and "crm" not in text
    web.check(page, "notifications-user")
    page.click("#notices button:has-text('Mute notes')")
    assert page.locator("#notices button:has-text('Unmute notes')").count() == 1

    admin = web.login("admin@bellco.test", workspace="bellco")
    admin.goto("/console/notifications")
    assert "books" in admin.locator("#notices").inner_text()
    admin.click("button:has-text('Mark all read')")
    admin.goto("/console/notifications?unread=1")
    assert "Nothing unread." in admin.inner_text(".empty")
    web.check(admin)


def test_the_empty_state(notices: Console, web: Console) -> None:
    page = web.login("quiet@bell.test", workspace="bell")
    assert _badge(page) == "Notifications"
    page.goto("/console/notifications")
    assert page.inner_text(".empty").startswith("No notifications.")
    web.check(page, "notifications-empty")
