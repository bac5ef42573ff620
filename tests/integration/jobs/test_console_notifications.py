"""The console's Notifications page over HTTP, on both databases, for a developer, a client
workspace's admin and a `user`: each notice's title, time, connection and fix link; mark read;
mute and unmute its connection; the unread count beside the navigation entry; the empty state;
and the step that takes a link about another of the viewer's workspaces into that workspace."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx2
import pytest

from plugboard.domain.models import ConnectionLevel, Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.usecases import identity
from plugboard.usecases.notifications import dispatch_events
from plugboard.usecases.refresh import RefreshCoordinator
from plugboard.usecases.token_upkeep import refresh_due_tokens
from tests.integration.jobs.notice_links import (
    PASSWORD,
    form_to,
    parse,
    post_form,
    set_password,
)
from tests.integration.jobs.support import OAuthWorld
from tests.stack import Stack
from tests.support import snapshot


def _expire(world: OAuthWorld) -> None:
    world.provider.state.reject_refresh = True
    coordinator = RefreshCoordinator(world.runtime)
    try:
        refresh_due_tokens(world.runtime, coordinator)
    finally:
        coordinator.close()
    dispatch_events(world.runtime)


@pytest.fixture
def logged_in(stack: Stack) -> Iterator[object]:
    clients: list[httpx2.Client] = []

    def login(email: str, workspace: str) -> httpx2.Client:
        set_password(stack.runtime, email)
        browser = httpx2.Client(base_url=stack.base_url, timeout=10)
        clients.append(browser)
        landed = browser.post(
            "/console/login",
            data={"email": email, "password": PASSWORD, "workspace": workspace,
                  "next": "/console/notifications"},
        )  # fmt: skip
        assert landed.status_code == 303, landed.text
        return browser

    yield login
    for client in clients:
        client.close()


def _notices(page: str) -> list[str]:
    return re.findall(r'<li class="panel notice-item[^"]*" id="notice-([^"]+)"', page)


@pytest.mark.parametrize(
    ("email", "workspace", "level"),
    [
        ("dev@acme.test", "acme", ConnectionLevel.ADMIN),
        ("admin@globex.test", "globex", ConnectionLevel.ADMIN),
        ("user@acme.test", "acme", ConnectionLevel.USER),
    ],
)
def test_each_role_sees_reads_and_mutes_its_notices(
    oauth: OAuthWorld, stack: Stack, logged_in: object, email: str, workspace: str,
    level: ConnectionLevel,
) -> None:  # fmt: skip
    world = OAuthWorld(oauth.runtime, oauth.provider, workspace=workspace)
    if workspace != "acme":
        world.service()
    else:
        world.client_id = oauth.client_id
    world.connection("crm", level=level)
    if level is ConnectionLevel.USER:
        world.authorize("crm", owner=f"root@{workspace}.test", expires_in=None)  # the primary
        world.authorize("crm", owner=email, expires_in=600)
    else:
        world.authorize("crm", expires_in=600)
    browser = logged_in(email, workspace)  # type: ignore[operator]
    empty = browser.get("/console/notifications")
    assert empty.status_code == 200 and "No notifications." in empty.text
    assert browser.get("/console/notifications/count").text == ""
    _expire(world)

    page = browser.get("/console/notifications")
    assert page.status_code == 200
    [notice_id] = _notices(page.text)
    assert "The authorization of Test Provider Connection has expired" in page.text
    assert re.search(r'<time datetime="[^"]+">', page.text)  # shown in the viewer's zone
    assert "<code>crm</code>" in page.text and "1 unread" in page.text
    fix = f"/console/connections/crm/authorize?environment=all&amp;workspace={workspace}"
    assert f'href="{fix}"' in page.text
    assert browser.get(html.unescape(fix)).status_code == 200  # the fix link opens its page
    assert 'hx-get="/console/notifications/count"' in page.text  # the nav entry's badge
    count = browser.get("/console/notifications/count")
    assert 'id="unread-count">1<' in count.text

    read = post_form(
        browser, f"/console/notifications/{notice_id}/read",
        form_to(page.text, f"/console/notifications/{notice_id}/read"),
    )  # fmt: skip
    assert read.status_code == 303
    page = browser.get("/console/notifications")
    assert "0 unread" in page.text and browser.get("/console/notifications/count").text == ""
    unread_only = browser.get("/console/notifications?unread=1")
    assert "Nothing unread." in unread_only.text

    muted = post_form(
        browser, "/console/notifications/mutes/crm",
        form_to(page.text, "/console/notifications/mutes/crm"),
    )  # fmt: skip
    assert muted.status_code == 303
    page = browser.get("/console/notifications")
    assert "Unmute crm" in page.text
    unmuted = post_form(
        browser, "/console/notifications/mutes/crm/delete",
        form_to(page.text, "/console/notifications/mutes/crm/delete"),
    )  # fmt: skip
    assert unmuted.status_code == 303 and "Mute crm" in browser.get("/console/notifications").text


def test_writes_without_the_csrf_token_change_nothing(
    oauth: OAuthWorld, stack: Stack, logged_in: object
) -> None:
    oauth.connection("crm")
    oauth.authorize("crm", expires_in=600)
    _expire(oauth)
    browser = logged_in("dev@acme.test", "acme")  # type: ignore[operator]
    [notice_id] = _notices(browser.get("/console/notifications").text)
    before = snapshot(stack.runtime.database)
    for action in (f"/console/notifications/{notice_id}/read", "/console/notifications/read",
                   "/console/notifications/mutes/crm"):  # fmt: skip
        refused = browser.post(action, data={})
        assert refused.status_code == 403
    assert snapshot(stack.runtime.database) == before
    # Another member's notice is not theirs to mark.
    other = logged_in("dev2@acme.test", "acme")  # type: ignore[operator]
    page = other.get("/console/notifications").text
    fields = form_to(page, "/console/notifications/read")
    assert post_form(other, f"/console/notifications/{notice_id}/read", fields).status_code == 303
    assert "1 unread" in browser.get("/console/notifications").text


def _switch_form(page: str) -> list[tuple[str, str]]:
    """The step's form (the navigation's workspace switcher posts to the same place)."""
    [fields] = [
        f.fields for f in parse(page).forms
        if f.action == "/console/workspace" and any(n == "next" for n, _ in f.fields)
    ]  # fmt: skip
    return fields


def test_a_link_about_another_workspace_switches_first(
    oauth: OAuthWorld, stack: Stack, logged_in: object
) -> None:
    with stack.runtime.unit() as unit:  # dev of acme is also a developer of beta
        identity.create_workspace(unit, OPERATOR, "beta", WorkspaceKind.DEVELOPER)
        identity.add_user(unit, OPERATOR, email="dev@acme.test", role=Role.DEVELOPER,
                          workspace="beta")  # fmt: skip
    oauth.connection("crm")
    browser = logged_in("dev@acme.test", "beta")  # type: ignore[operator]
    link = "/console/connections/crm/authorize?environment=all&workspace=acme"
    step = browser.get(link)
    assert step.status_code == 303
    assert step.headers["location"].startswith("/console/notifications/workspace?")
    page = browser.get(step.headers["location"])
    assert page.status_code == 200 and "Switch to acme and continue" in page.text
    switched = post_form(browser, "/console/workspace", _switch_form(page.text))
    assert switched.status_code == 303 and switched.headers["location"] == link
    landed = browser.get(link)
    assert landed.status_code == 200 and "Authorize Test Provider Connection" in landed.text
    # A workspace the viewer is not in: said so, nothing switched.
    refused = browser.get(
        "/console/notifications/workspace?workspace=globex&next=/console/connections"
    )
    assert refused.status_code == 404 and "not a member of workspace globex" in refused.text
    # Only a console path is followed.
    outside = browser.get("/console/notifications/workspace?workspace=acme&next=//evil.test/x")
    assert outside.status_code == 303 and outside.headers["location"] == "/console/notifications"
    # The switch itself follows only a console path too.
    back = browser.get("/console/notifications/workspace?workspace=beta&next=/console/services")
    fields = [(n, v) for n, v in _switch_form(back.text) if n != "next"]
    away = post_form(browser, "/console/workspace", [*fields, ("next", "//evil.test/x")])
    assert away.status_code == 303 and away.headers["location"] == "/console/connections"
