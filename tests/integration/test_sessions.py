"""Console sessions (issue 6): login with e-mail and password, CSRF on cookie writes, logout,
and rate-limited failed logins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from plugboard.domain.models import Role
from plugboard.domain.principal import OPERATOR
from plugboard.server.app import create_app
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime
from tests.stack import Actor

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
