"""SPEC §5 "Telling the right person": when a component needs an authorization that does not
exist, those who can authorize it are told -- once, not once per failing call -- in the
console's notices and by a signed webhook, each with the link to that authorization. Over REST
with an app token (the app's components at run time), on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from plugboard.domain.clock import ManualClock
from plugboard.domain.events import EventType
from plugboard.domain.models import ConnectionLevel
from plugboard.domain.principal import OPERATOR
from plugboard.usecases import app_tokens
from plugboard.usecases.app_service import Apps
from plugboard.usecases.authorization_required import record_required_event
from plugboard.usecases.events import record_event
from plugboard.usecases.notifications import Notifications, dispatch_events
from plugboard.usecases.refresh import RefreshCoordinator
from plugboard.usecases.token_upkeep import refresh_due_tokens
from plugboard.usecases.webhooks import Webhooks
from tests.integration.jobs.support import OAuthWorld
from tests.integration.jobs.webhook_support import admin_of, receiving, tick, verified_by_both
from tests.stack import Stack
from tests.support import snapshot

NAMES = ["root", "admin", "dev", "dev2", "user"]


@pytest.fixture
def clock() -> ManualClock:
    # The webhook receiver checks webhook-timestamp against its own clock.
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def app_token(oauth: OAuthWorld, stack: Stack) -> httpx2.Client:
    """The app `sales` (a form on the admin connection crm and the user connection sheet,
    granted to user@acme.test) and a client holding its app token."""
    oauth.connection("crm")
    oauth.connection("sheet", level=ConnectionLevel.USER)
    apps = Apps(stack.runtime, OPERATOR, "acme")
    apps.create(name="Sales")
    apps.put_component("sales", kind="form", name="Listing", connections=["crm", "sheet"])
    apps.grant("sales", "user@acme.test")
    token = apps.create_token("sales", name="runtime").secret
    client = httpx2.Client(
        base_url=f"{stack.base_url}/api/v1", headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )  # fmt: skip
    stack.clients.append(client)
    return client


def _code(answer: httpx2.Response) -> str:
    """The problem's type name (``…/problems/<code>``)."""
    return str(answer.json().get("type", "")).rsplit("/", 1)[-1]


def _invoke(client: httpx2.Client, connection: str, **extra: Any) -> None:
    answer = client.post("/invoke", json={"connection": connection, "url": "/ping", **extra})
    assert answer.status_code >= 400 and _code(answer) == "authorization_required", answer.text


def _told(stack: Stack) -> dict[str, list[tuple[str, str | None, str]]]:
    return {
        n: [(i.title, i.connection, i.link) for i in
            Notifications(stack.runtime, stack.members(n)).list().items]
        for n in NAMES
    }  # fmt: skip


def test_a_missing_shared_authorization_tells_who_may_authorize_once(
    oauth: OAuthWorld, stack: Stack, app_token: httpx2.Client
) -> None:
    with receiving() as receiver:
        hook = Webhooks(stack.runtime, admin_of(stack.members)).create(
            url=receiver.url, events=["authorization.required"]
        )
        for _ in range(3):  # a component retrying
            _invoke(app_token, "crm")
        assert dispatch_events(stack.runtime) == 4  # root, admin, dev, dev2
        assert tick(stack.runtime)["delivered"] == 1
        _invoke(app_token, "crm")  # told already: nothing new
        assert dispatch_events(stack.runtime) == 0 and tick(stack.runtime)["made"] == 0
    told = _told(stack)
    link = f"{stack.base_url}/console/connections/crm/authorize?environment=all&workspace=acme"
    expected = [("Test Provider Connection needs to be authorized", "crm", link)]
    assert {n: told[n] for n in ("root", "admin", "dev", "dev2")} == dict.fromkeys(
        ["root", "admin", "dev", "dev2"], expected
    )
    assert told["user"] == []
    [message] = receiver.received
    payload = verified_by_both(hook.secret, message)
    assert payload["type"] == "authorization.required"
    assert payload["data"]["link"] == link and payload["data"]["connection"] == "crm"

    # Once authorized, the component's calls go through: nothing more to tell.
    oauth.authorize("crm")
    answer = app_token.post("/invoke", json={"connection": "crm", "url": "/ping"})
    assert _code(answer) != "authorization_required", answer.text
    assert dispatch_events(stack.runtime) == 0


def test_a_missing_user_authorization_tells_that_user_and_without_a_user_the_super_admins(
    oauth: OAuthWorld, stack: Stack, app_token: httpx2.Client
) -> None:
    _invoke(app_token, "sheet", as_user="user@acme.test")
    _invoke(app_token, "sheet", as_user="user@acme.test")
    _invoke(app_token, "sheet")  # for no user: the primary account is needed
    dispatch_events(stack.runtime)
    told = _told(stack)
    link = f"{stack.base_url}/console/connections/sheet/authorize?environment=all&workspace=acme"
    mine = [("Test Provider Connection 2 needs to be authorized", "sheet", link)]
    assert told["user"] == mine
    assert told["root"] == mine  # the only super admin: the primary is missing
    assert told["admin"] == told["dev"] == told["dev2"] == []


def test_members_invoking_and_expired_authorizations_add_no_such_event(
    oauth: OAuthWorld, stack: Stack, app_token: httpx2.Client
) -> None:
    answer = stack.api("dev").post("/invoke", json={"connection": "crm", "url": "/ping"})
    assert _code(answer) == "authorization_required"  # a member testing, not a component
    assert oauth.events("authorization.required") == []
    oauth.authorize("crm", expires_in=600)
    oauth.provider.state.reject_refresh = True
    coordinator = RefreshCoordinator(oauth.runtime)
    try:
        refresh_due_tokens(oauth.runtime, coordinator)  # expired: its own event tells
    finally:
        coordinator.close()
    before = snapshot(stack.runtime.database)
    _invoke(app_token, "crm")
    after = snapshot(stack.runtime.database)
    assert after["events"] == before["events"]  # no authorization.required: it exists


def test_two_calls_failing_at_the_same_instant_record_one_event(
    oauth: OAuthWorld, stack: Stack, app_token: httpx2.Client
) -> None:
    secret = str(app_token.headers["Authorization"]).removeprefix("Bearer ")
    with stack.runtime.unit(write=False) as unit:
        app = app_tokens.authenticate(unit, secret)
    later: list[bool] = []

    def second_call() -> None:
        with stack.runtime.unit() as unit:
            later.append(record_required_event(unit, app, "crm", "development", None, None))

    with stack.runtime.unit() as unit:
        assert record_required_event(unit, app, "crm", "development", None, None)
        other = threading.Thread(target=second_call)
        other.start()
        other.join(0.5)
        assert other.is_alive()  # it waits for this transaction to end
    other.join(10)

    assert later == [False]
    with stack.runtime.unit(write=False) as unit:
        ws = unit.workspaces.get("acme")
        connection = unit.connections.get(ws.id, "crm")
        events = unit.events.list(ws.id, connection_id=connection.id, limit=50)
    assert [e.type for e in events].count("authorization.required") == 1


def test_told_already_holds_however_many_events_the_connection_had_since(
    oauth: OAuthWorld, stack: Stack, app_token: httpx2.Client
) -> None:
    secret = str(app_token.headers["Authorization"]).removeprefix("Bearer ")
    with stack.runtime.unit() as unit:
        app = app_tokens.authenticate(unit, secret)
        assert record_required_event(unit, app, "crm", "development", None, None)
        ws = unit.workspaces.get("acme")
        crm = unit.connections.get(ws.id, "crm")
        for _ in range(250):  # events about the connection's other authorizations
            record_event(
                unit, EventType.AUTHORIZATION_EXPIRED, workspace_id=ws.id, actor="test",
                connection_id=crm.id, environment="production",
            )  # fmt: skip

    with stack.runtime.unit() as unit:
        assert not record_required_event(unit, app, "crm", "development", None, None)
