"""Issue 9 item 4: no answer tells an address without an account from an account that is not a
member. Carol has an account in `globex` only; `nobody@nowhere.test` has none. Asked about in
acme, both give the same NotFound (same status, same type, same message but for the address)
through tokens, `as_user`, `X-Plugboard-User` and `--as`, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from plugboard.domain.models import Role
from plugboard.domain.principal import OPERATOR
from plugboard.errors import NotFound
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime
from tests.stack import World

CAROL = "carol@globex.test"
NOBODY = "nobody@nowhere.test"

Send = Callable[[TestClient, str], Any]

PATHS: dict[str, Send] = {
    "create token": lambda c, e: c.post("/api/v1/tokens", json={"email": e}),
    "list tokens": lambda c, e: c.get("/api/v1/tokens", params={"email": e}),
    "invoke as_user": lambda c, e: c.post(
        "/api/v1/invoke", json={"connection": "c_admin", "url": "/ping", "as_user": e}
    ),
    "proxy X-Plugboard-User": lambda c, e: c.get(
        "/proxy/c_admin/ping", headers={"X-Plugboard-User": e}
    ),
}


@pytest.fixture
def acme(world_factory: Callable[[str], tuple[World, TestClient]]) -> TestClient:
    """acme seeded, Carol a member of globex only, and a client as acme's super admin with a
    token that acts for users."""
    world, client = world_factory("acme")
    with world.runtime.unit() as unit:
        identity.add_user(unit, OPERATOR, email=CAROL, role=Role.USER, workspace="globex")
        issued = identity.create_token(
            unit, OPERATOR, email="root@acme.test", workspace="acme", acts_for_users=True
        )
    client.headers["Authorization"] = f"Bearer {issued.secret}"
    return client


def _shape(response: Any, email: str) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["type"], body["detail"].replace(email, "EMAIL")


@pytest.mark.parametrize("path", PATHS, ids=list(PATHS))
def test_an_unknown_address_and_a_non_member_get_the_same_not_found(
    acme: TestClient, path: str
) -> None:
    send = PATHS[path]
    non_member = _shape(send(acme, CAROL), CAROL)
    unknown = _shape(send(acme, NOBODY), NOBODY)
    assert non_member == unknown
    assert non_member[0] == 404 and non_member[1].endswith("not_found")


def test_acting_as_an_unknown_address_or_a_non_member_fails_the_same_way(
    acme: TestClient, runtime: Runtime
) -> None:
    """The CLI's `--as`."""
    messages = []
    for email in (CAROL, NOBODY):
        with pytest.raises(NotFound) as raised, runtime.unit(write=False) as unit:
            identity.principal_for(unit, email, "acme", via="test")
        messages.append((raised.value.kind, raised.value.message.replace(email, "EMAIL")))
    assert messages[0] == messages[1]
