"""Login throttling over real HTTP, on SQLite and PostgreSQL: concurrent guesses for one e-mail
are checked one at a time, failures delay further attempts from the same client address with a
growing delay, and the owner logging in from another address is never locked out."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from sqlalchemy import func, select

from plugboard.domain.clock import ManualClock
from plugboard.domain.models import Role
from plugboard.domain.principal import OPERATOR
from plugboard.store.tables import audit_events, login_throttle
from plugboard.usecases import identity
from tests.stack import Stack
from tests.support import snapshot

EMAIL = "owner@acme.test"
PASSWORD = "correct horse battery staple"
ATTACKER = "127.0.0.1"
OWNER = "127.0.0.2"


@pytest.fixture
def site(stack: Stack) -> Iterator[Stack]:
    with stack.runtime.unit() as unit:
        identity.add_user(
            unit, OPERATOR, email=EMAIL, role=Role.DEVELOPER, workspace="acme", password=PASSWORD
        )
    yield stack


def _client(stack: Stack, address: str) -> httpx2.Client:
    client = httpx2.Client(
        base_url=f"{stack.base_url}/api/v1",
        transport=httpx2.HTTPTransport(local_address=address),
        timeout=30,
    )
    stack.clients.append(client)
    return client


def _login(client: httpx2.Client, password: str) -> httpx2.Response:
    return client.post("/session", json={"email": EMAIL, "password": password, "workspace": "acme"})


def _password_checks(stack: Stack) -> int:
    """Every password check that fails is audited as a denied login."""
    query = (
        select(func.count())
        .select_from(audit_events)
        .where(audit_events.c.action == "session.login", audit_events.c.outcome == "denied")
    )
    with stack.runtime.database.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _clock(stack: Stack) -> ManualClock:
    clock = stack.runtime.clock
    assert isinstance(clock, ManualClock)
    return clock


def test_concurrent_bad_logins_for_one_email_are_password_checked_at_most_the_allowed_times(
    site: Stack,
) -> None:
    allowed = site.runtime.settings.login_attempts
    clients = [_client(site, ATTACKER) for _ in range(6)]

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(
            pool.map(lambda i: _login(clients[i % 6], f"guess-{i}").status_code, range(30))
        )

    assert sorted(set(statuses)) == [401, 429]
    assert statuses.count(401) == _password_checks(site) <= allowed


def test_the_owner_logs_in_from_another_address_after_an_attackers_failures(site: Stack) -> None:
    attacker = _client(site, ATTACKER)
    statuses = [_login(attacker, f"guess-{i}").status_code for i in range(10)]
    assert statuses[-1] == 429

    owner = _login(_client(site, OWNER), PASSWORD)

    assert owner.status_code == 201, owner.text
    assert owner.json()["email"] == EMAIL


def test_a_throttled_attempt_is_refused_without_checking_the_password_even_when_right(
    site: Stack,
) -> None:
    attacker = _client(site, ATTACKER)
    for i in range(site.runtime.settings.login_attempts):
        assert _login(attacker, f"guess-{i}").status_code == 401
    before = snapshot(site.runtime.database)

    refused = _login(attacker, PASSWORD)

    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "pb_session" not in refused.headers.get("set-cookie", "")
    assert snapshot(site.runtime.database) == before


def test_the_delay_grows_with_each_failure_up_to_the_maximum(site: Stack) -> None:
    settings = site.runtime.settings
    clock = _clock(site)
    attacker = _client(site, ATTACKER)
    for i in range(settings.login_attempts):
        assert _login(attacker, f"guess-{i}").status_code == 401

    delays = []
    for i in range(12):
        refused = _login(attacker, f"again-{i}")
        assert refused.status_code == 429
        delay = int(refused.headers["retry-after"])
        delays.append(delay)
        clock.advance(delay)
        assert _login(attacker, f"after-{i}").status_code == 401  # the wait is over: checked

    assert delays[0] == settings.login_delay_seconds
    assert delays == sorted(delays) and delays[1] == 2 * delays[0]
    assert delays[-1] == settings.login_max_delay_seconds


def test_failures_are_forgotten_after_the_window_and_a_success_clears_them(site: Stack) -> None:
    settings = site.runtime.settings
    attacker = _client(site, ATTACKER)
    for i in range(settings.login_attempts):
        _login(attacker, f"guess-{i}")
    assert _login(attacker, "again").status_code == 429

    _clock(site).advance(settings.login_window_seconds + 1)
    assert _login(attacker, PASSWORD).status_code == 201

    with site.runtime.database.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(login_throttle)).scalar_one() == 0
