"""Console sessions (issue 6): login with e-mail and password, CSRF on cookie writes, logout,
and rate-limited failed logins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from plugboard.domain.login_throttle import LoginThrottle
from plugboard.domain.models import Role
from plugboard.domain.principal import OPERATOR
from plugboard.errors import AuthenticationFailed, NotFound
from plugboard.server.app import create_app
from plugboard.usecases import identity, sessions
from plugboard.usecases.runtime import Runtime
from tests.stack import Actor
from tests.support import snapshot

PASSWORD = "correct horse battery staple"


@pytest.fixture
def console(runtime: Runtime, members: Actor) -> Iterator[TestClient]:
    with runtime.unit() as unit:
        identity.add_user(
            unit, OPERATOR, email="web@acme.test", role=Role.DEVELOPER, workspace="acme",
            password=PASSWORD,
        )  # fmt: skip
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        yield client


def _login(client: TestClient, password: str = PASSWORD) -> str:
    response = client.post(
        "/api/v1/session",
        json={"email": "web@acme.test", "password": password, "workspace": "acme"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["csrf_token"])


def test_login_sets_an_http_only_session_cookie(console: TestClient) -> None:
    response = console.post(
        "/api/v1/session",
        json={"email": "web@acme.test", "password": PASSWORD, "workspace": "acme"},
    )
    cookie = response.headers["set-cookie"]
    assert "pb_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert PASSWORD not in response.text
    assert console.get("/api/v1/session").json()["email"] == "web@acme.test"


def test_a_cookie_session_reads_without_a_csrf_token(console: TestClient) -> None:
    _login(console)
    assert console.get("/api/v1/connections").status_code == 200


def test_a_cookie_session_write_without_the_csrf_token_is_refused(console: TestClient) -> None:
    _login(console)
    refused = console.post("/api/v1/connections", json={"service": "stripe"})
    assert refused.status_code == 401 and "X-CSRF-Token" in refused.json()["detail"]


def test_a_cookie_session_write_with_the_csrf_token_is_allowed(console: TestClient) -> None:
    csrf = _login(console)
    made = console.post(
        "/api/v1/connections", json={"service": "stripe"}, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 201, made.text


def test_a_wrong_password_is_refused_with_the_same_message_as_an_unknown_email(
    console: TestClient,
) -> None:
    wrong = console.post(
        "/api/v1/session", json={"email": "web@acme.test", "password": "nope", "workspace": "acme"}
    )
    unknown = console.post(
        "/api/v1/session", json={"email": "who@acme.test", "password": "nope", "workspace": "acme"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_failed_logins_are_rate_limited_per_email(console: TestClient) -> None:
    body = {"email": "web@acme.test", "password": "wrong", "workspace": "acme"}
    statuses = [console.post("/api/v1/session", json=body).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    limited = console.post("/api/v1/session", json={**body, "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


def test_the_rate_limit_window_passes(console: TestClient, runtime: Runtime) -> None:
    body = {"email": "web@acme.test", "password": "wrong", "workspace": "acme"}
    for _ in range(5):
        console.post("/api/v1/session", json=body)
    runtime.clock.advance(runtime.settings.login_window_seconds + 1)  # type: ignore[attr-defined]
    _login(console)


def test_logout_ends_the_session(console: TestClient) -> None:
    _login(console)
    assert console.delete("/api/v1/session").status_code == 204
    assert console.get("/api/v1/connections").status_code == 401


def test_a_session_expires(console: TestClient, runtime: Runtime) -> None:
    _login(console)
    runtime.clock.advance(runtime.settings.session_hours * 3600 + 1)  # type: ignore[attr-defined]
    assert console.get("/api/v1/connections").status_code == 401


_THROTTLE = LoginThrottle(
    free_attempts=5, delay=timedelta(seconds=1), max_delay=timedelta(seconds=60),
    window=timedelta(minutes=15),
)  # fmt: skip


def _session_in_acme(runtime: Runtime) -> sessions.NewSession:
    with runtime.unit() as unit:
        identity.add_user(
            unit, OPERATOR, email="two@acme.test", role=Role.DEVELOPER, workspace="acme",
            password=PASSWORD,
        )  # fmt: skip
        identity.add_user(
            unit, OPERATOR, email="two@acme.test", role=Role.ADMIN, workspace="globex"
        )
    with runtime.unit() as unit:
        new = sessions.login(
            unit, email="two@acme.test", password=PASSWORD, workspace="acme",
            lifetime=timedelta(hours=1), throttle=_THROTTLE,
        )  # fmt: skip
    assert isinstance(new, sessions.NewSession)
    return new


def test_switching_workspace_ends_the_session_and_opens_one_with_the_role_there(
    runtime: Runtime, members: Actor
) -> None:
    old = _session_in_acme(runtime)
    with runtime.unit() as unit:
        new = sessions.switch(unit, old.secret, csrf_token=old.csrf_token, workspace="globex")
    assert new.principal.role is Role.ADMIN and new.expires_at == old.expires_at
    with runtime.unit(write=False) as unit:
        with pytest.raises(AuthenticationFailed):
            sessions.authenticate_session(unit, old.secret, csrf_token=None, needs_csrf=False)
        now_in = sessions.authenticate_session(unit, new.secret, csrf_token=None, needs_csrf=False)
        [entry] = unit.audit.list(new.principal.workspace_id, action="session.switch")
    assert now_in.workspace_id == new.principal.workspace_id
    assert entry.detail["from_workspace"] == old.principal.workspace_id


def test_switching_to_a_workspace_one_does_not_belong_to_changes_nothing(
    runtime: Runtime, members: Actor
) -> None:
    old = _session_in_acme(runtime)
    before = snapshot(runtime.database)
    with runtime.unit() as unit, pytest.raises(NotFound):
        sessions.switch(unit, old.secret, csrf_token=old.csrf_token, workspace="initech")
    assert snapshot(runtime.database) == before
