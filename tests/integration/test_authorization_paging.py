"""A connection's authorizations are filtered and paged by the store: pages in (environment,
owner e-mail, id) order never repeat or skip one, filters hold across pages, a `user` pages
through only their own, and a cursor from elsewhere is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from plugboard.domain.credentials import OAuth2Credential
from plugboard.domain.models import ConnectionLevel, Role
from plugboard.domain.principal import OPERATOR
from plugboard.server.pagination import encode_cursor
from plugboard.usecases import identity
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service
from tests.stack import OAUTH_SERVICE, Actor, Stack

LINK = "c_people"
PEOPLE = [f"p{i:02d}@acme.test" for i in range(9)]
OWNERS = sorted([*PEOPLE, "root@acme.test", "user@acme.test"])


def _all_pages(api: httpx2.Client, limit: int, **filters: str) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor: str | None = None
    for pages in range(1, 100):  # bounded: far more pages than any test makes
        params: dict[str, Any] = {
            "limit": limit,
            **filters,
            **({"cursor": cursor} if cursor else {}),
        }
        page = api.get(f"/connections/{LINK}/authorizations", params=params)
        assert page.status_code == 200, page.text
        seen += [f"{a['environment']} {a['owner_email']}" for a in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return seen, pages
    raise AssertionError("the cursor never ended")


@pytest.fixture
def people(runtime: Runtime, members: Actor) -> Iterator[None]:
    """A per-environment user-level connection authorized in development and production by the
    `root` and `user` members and nine more users (role user, except p00 and p01: developers)."""
    dev = members("dev")
    with runtime.unit() as unit:
        for i, email in enumerate(PEOPLE):
            role = Role.DEVELOPER if i < 2 else Role.USER
            identity.add_user(unit, OPERATOR, email=email, role=role, workspace="acme")
        create_custom_service(unit, dev, OAUTH_SERVICE)
        create_connection(unit, dev, service="osvc", link_name=LINK, scopes=["read"],
                          level=ConnectionLevel.USER, per_environment=True)  # fmt: skip
        # The super admin first: a user-level connection's first authorization is the primary.
        for email in sorted(OWNERS, key=lambda e: e != "root@acme.test"):
            for environment in ("production", "development"):
                store_credential(
                    unit, OPERATOR, connection=LINK, workspace="acme", owner=email,
                    environment=environment, credential=OAuth2Credential(f"t-{email}"),
                )  # fmt: skip
    yield


def test_every_authorization_is_on_exactly_one_page(stack: Stack, people: None) -> None:
    seen, pages = _all_pages(stack.api("root"), limit=3)
    expected = [f"{env} {email}" for env in ("development", "production") for email in OWNERS]
    assert seen == expected
    assert pages == 8  # 22 authorizations, 3 a page


def test_filters_hold_across_pages(stack: Stack, people: None) -> None:
    by_env, _ = _all_pages(stack.api("root"), limit=4, environment="production")
    by_role, _ = _all_pages(stack.api("root"), limit=1, user_type="developer")
    by_search, _ = _all_pages(stack.api("root"), limit=2, search="P0")
    assert by_env == [f"production {email}" for email in OWNERS]
    assert by_role == [
        f"{env} {email}" for env in ("development", "production") for email in PEOPLE[:2]
    ]
    assert by_search == [
        f"{env} {email}" for env in ("development", "production") for email in PEOPLE
    ]


def test_a_user_pages_through_their_own_only(stack: Stack, people: None) -> None:
    seen, pages = _all_pages(stack.api("user"), limit=1)
    assert seen == ["development user@acme.test", "production user@acme.test"]
    assert pages == 2


@pytest.mark.parametrize("key", [["development"], ["development", "x", 3], "not-a-key"])
def test_a_cursor_that_is_no_authorization_key_is_refused(
    stack: Stack, people: None, key: Any
) -> None:
    cursor = encode_cursor(key) if isinstance(key, list) else key
    answer = stack.api("root").get(f"/connections/{LINK}/authorizations", params={"cursor": cursor})
    assert answer.status_code == 422
    assert answer.json()["field"] == "cursor"
