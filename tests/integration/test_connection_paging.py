"""Connection lists are filtered and paged by the store: pages in link-name order never repeat
or skip a connection, filters hold across pages, and a `user` pages through only what they may
see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from plugboard.domain.models import ConnectionLevel
from plugboard.domain.principal import Principal
from plugboard.store.database import Database
from plugboard.usecases import connections
from plugboard.usecases.runtime import Runtime
from tests.stack import Actor, Stack
from tests.support import snapshot


def _all_pages(api: httpx2.Client, limit: int, **filters: str) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    for _ in range(100):  # bounded: far more pages than any test makes
        params: dict[str, Any] = {
            "limit": limit,
            **filters,
            **({"cursor": cursor} if cursor else {}),
        }
        page = api.get("/connections", params=params)
        assert page.status_code == 200, page.text
        pages += 1
        seen += [c["link_name"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return seen, pages
    raise AssertionError("the cursor never ended")


@pytest.fixture
def many(runtime: Runtime, members: Actor) -> Iterator[Principal]:
    dev = members("dev")
    with runtime.unit() as unit:
        for i in range(23):
            connections.create_connection(
                unit, dev, service="stripe", link_name=f"pay_{i:02d}", name=f"Payments {i}"
            )
        for i in range(7):
            connections.create_connection(
                unit,
                dev,
                service="twilio",
                link_name=f"sms_{i}",
                name=f"Texts {i}",
                level=ConnectionLevel.USER,
            )
    yield dev


def test_every_connection_is_on_exactly_one_page(stack: Stack, many: Principal) -> None:
    seen, pages = _all_pages(stack.api("dev"), limit=4)
    expected = sorted([f"pay_{i:02d}" for i in range(23)] + [f"sms_{i}" for i in range(7)])
    assert seen == expected
    assert pages == 8  # 30 connections, 4 a page


def test_filters_hold_across_pages(stack: Stack, many: Principal) -> None:
    by_service, _ = _all_pages(stack.api("dev"), limit=3, service="twilio")
    by_search, _ = _all_pages(stack.api("dev"), limit=2, search="PAYMENTS 1")
    assert by_service == [f"sms_{i}" for i in range(7)]
    assert by_search == ["pay_01"] + [f"pay_{i}" for i in range(10, 20)]


def test_a_user_pages_through_user_level_connections_only(stack: Stack, many: Principal) -> None:
    seen, _ = _all_pages(stack.api("user"), limit=2)
    assert seen == [f"sms_{i}" for i in range(7)]
    refused = stack.api("user").get("/connections", params={"level": "admin"})
    assert refused.status_code == 200 and refused.json()["items"] == []


def test_an_unknown_level_is_refused_naming_the_field(stack: Stack, database: Database) -> None:
    api = stack.api("dev")
    before = snapshot(database)
    response = api.get("/connections", params={"level": "everyone"})
    assert response.status_code == 422
    assert response.json()["field"] == "level"
    after = snapshot(database)
    # The token's last use is the one row any authenticated request writes.
    assert {k: v for k, v in after.items() if k != "api_tokens"} == {
        k: v for k, v in before.items() if k != "api_tokens"
    }


def test_a_search_for_like_wildcards_matches_them_literally(stack: Stack, many: Principal) -> None:
    assert _all_pages(stack.api("dev"), limit=5, search="%")[0] == []
    assert _all_pages(stack.api("dev"), limit=5, search="pay_0")[0] == [
        f"pay_0{i}" for i in range(10)
    ]
