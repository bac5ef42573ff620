"""The console's "all authorizations" page reads one keyset page at a time from the store (as
the REST list does) and links to the next: every authorization shows once, in the list's order,
across pages and filters."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from plugboard.server.app import create_app
from plugboard.server.console import views_authorizations
from plugboard.usecases.authorization_service import Authorizations
from plugboard.usecases.runtime import Runtime
from tests.integration.jobs.notice_links import PASSWORD, set_password
from tests.integration.test_listing_paging import LINK, mixed  # noqa: F401 (a fixture)
from tests.stack import Actor

ROW = re.compile(r"<tr>\s*<td>[^<]*</td><td>([^<]*)</td><td>[^<]*</td>\s*<td>([^<]*)</td>")
NEXT = re.compile(r'<a rel="next" href="([^"]+)"')


def _walk(client: TestClient, url: str) -> list[list[tuple[str, str]]]:
    pages: list[list[tuple[str, str]]] = []
    for _ in range(50):  # bounded: far more pages than the test makes
        answer = client.get(url)
        assert answer.status_code == 200, answer.text
        pages.append(ROW.findall(answer.text))
        following = NEXT.search(answer.text)
        if following is None:
            return pages
        url = html.unescape(following.group(1))
    raise AssertionError("the pages never ended")


@pytest.fixture
def console(runtime: Runtime, members: Actor, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(views_authorizations, "PAGE_SIZE", 5)
    members("root")
    set_password(runtime, "root@acme.test")
    client = TestClient(create_app(runtime.settings, runtime=runtime))
    landed = client.post(
        "/console/login",
        data={"email": "root@acme.test", "password": PASSWORD, "workspace": "acme"},
        follow_redirects=False,
    )
    assert landed.status_code == 303, landed.text
    return client


def _expected(runtime: Runtime, members: Actor, **filters: str) -> list[tuple[str, str]]:
    every = Authorizations(runtime, members("root")).page(LINK, **filters).items  # type: ignore[arg-type]
    return [(a.owner_email or "—", a.environment) for a in every]


@pytest.mark.usefixtures("mixed")
def test_all_authorizations_are_paged_in_the_lists_order_without_repeats_or_gaps(
    runtime: Runtime, members: Actor, console: TestClient
) -> None:
    pages = _walk(console, f"/console/connections/{LINK}/authorizations")

    shown = [row for page in pages for row in page]
    assert shown == _expected(runtime, members)
    assert len(shown) == 18 and len(pages) == 4 and all(len(page) <= 5 for page in pages)


@pytest.mark.usefixtures("mixed")
def test_the_filters_hold_on_every_page(
    runtime: Runtime, members: Actor, console: TestClient
) -> None:
    url = f"/console/connections/{LINK}/authorizations?environment=production&user_type=user"
    pages = _walk(console, url)

    shown = [row for page in pages for row in page]
    assert shown == _expected(runtime, members, environment="production", user_type="user")
    assert len(shown) == 5 and len(pages) == 1


@pytest.mark.usefixtures("mixed")
def test_a_forged_cursor_is_refused_naming_the_field(console: TestClient) -> None:
    answer = console.get(f"/console/connections/{LINK}/authorizations?cursor=bm90LWEta2V5")
    assert answer.status_code == 422 and "cursor" in answer.text
