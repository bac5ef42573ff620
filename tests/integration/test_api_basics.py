"""The REST API over what exists so far: authentication, problem+json, pagination, isolation."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from plugboard.domain.principal import Principal
from plugboard.server.app import create_app
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime
from tests.integration.test_custom_services import text
from tests.stack import Actor

Client = Callable[..., TestClient]


@pytest.fixture
def api(runtime: Runtime, members: Actor) -> Iterator[Client]:
    """`api("dev")` → a client authenticated as dev@acme.test (`api("dev", "globex")` …)."""
    clients: list[TestClient] = []

    def client(name: str | None = None, workspace: str = "acme") -> TestClient:
        c = TestClient(create_app(runtime.settings, runtime=runtime))
        clients.append(c)
        if name is not None:
            with runtime.unit() as unit:
                issued = identity.create_token(
                    unit, members(name, workspace), name=f"test-{len(clients)}"
                )
            c.headers["Authorization"] = f"Bearer {issued.secret}"
        return c

    yield client
    for c in clients:
        c.close()


def test_every_api_route_needs_a_token(api: Client) -> None:
    response = api().get("/api/v1/connections")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"].endswith("/authentication_failed")


def test_a_revoked_token_is_refused(api: Client, runtime: Runtime) -> None:
    client = api("dev")
    me = client.get("/api/v1/tokens").json()["items"][0]
    assert client.delete(f"/api/v1/tokens/{me['id']}").status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_me_names_the_principal(api: Client) -> None:
    body = api("admin").get("/api/v1/me").json()
    assert (body["email"], body["workspace"], body["role"]) == ("admin@acme.test", "acme", "admin")


def test_a_connection_is_created_and_shown_over_the_api(api: Client) -> None:
    client = api("dev")
    created = client.post(
        "/api/v1/connections", json={"service": "stripe", "link_name": "payments"}
    )
    assert created.status_code == 201, created.text
    shown = client.get("/api/v1/connections/payments").json()
    assert shown["service"] == "stripe" and shown["authorizations"] == []


def test_a_validation_error_is_problem_json_naming_field_and_rule(api: Client) -> None:
    response = api("dev").post(
        "/api/v1/connections", json={"service": "stripe", "link_name": "Bad-Name"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "https://plugboard.dev/problems/validation_error"
    assert body["field"] == "link_name" and "^[a-z][a-z0-9_]{0,49}$" in body["rule"]


def test_a_malformed_body_is_problem_json_too(api: Client) -> None:
    response = api("dev").post("/api/v1/connections", json={"service": 5, "nonsense": True})
    assert response.status_code == 422
    assert response.json()["field"] in {"service", "nonsense"}


def test_a_forbidden_action_is_403(api: Client) -> None:
    response = api("user").post("/api/v1/connections", json={"service": "stripe"})
    assert response.status_code == 403
    assert response.json()["type"].endswith("/permission_denied")


def test_another_workspaces_connection_is_404_not_403(api: Client) -> None:
    api("dev", "globex").post("/api/v1/connections", json={"service": "stripe", "link_name": "pay"})
    for method in ("get", "patch", "delete"):
        kwargs = {"json": {"name": "x"}} if method == "patch" else {}
        response = getattr(api("root"), method)("/api/v1/connections/pay", **kwargs)
        assert response.status_code == 404, method


def test_lists_are_paginated_with_a_cursor(api: Client) -> None:
    client = api("dev")
    for i in range(5):
        client.post("/api/v1/connections", json={"service": "stripe", "link_name": f"pay_{i}"})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/connections", params=params).json()
        seen += [c["link_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"pay_{i}" for i in range(5)]


def test_a_bad_cursor_is_a_validation_error(api: Client) -> None:
    response = api("dev").get("/api/v1/connections", params={"cursor": "%%%"})
    assert response.status_code == 422 and response.json()["field"] == "cursor"


def test_a_custom_service_created_over_the_api_never_returns_its_secret(api: Client) -> None:
    import yaml

    definition = yaml.safe_load(text("oauth2"))
    client = api("dev")
    created = client.post("/api/v1/services", json=definition)
    assert created.status_code == 201, created.text
    for response in (created, client.get("/api/v1/services/acme_oauth2")):
        assert "client-secret-value" not in response.text
        assert "client_secret" not in response.json()["definition"]["oauth2"]


def test_the_audit_log_is_listed_newest_first_in_pages(api: Client) -> None:
    client = api("dev")
    for i in range(3):
        client.post("/api/v1/connections", json={"service": "stripe", "link_name": f"pay_{i}"})
    first = client.get("/api/v1/audit", params={"action": "connection.create", "limit": 2}).json()
    rest = client.get(
        "/api/v1/audit",
        params={"action": "connection.create", "limit": 2, "cursor": first["next_cursor"]},
    ).json()
    links = [e["detail"]["link_name"] for e in first["items"] + rest["items"]]
    assert links == ["pay_2", "pay_1", "pay_0"] and rest["next_cursor"] is None


def test_a_user_cannot_read_the_audit_log(api: Client) -> None:
    assert api("user").get("/api/v1/audit").status_code == 403


def test_the_openapi_schema_is_served(api: Client) -> None:
    schema = api().get("/api/v1/openapi.json").json()
    assert "/api/v1/connections" in schema["paths"]


def test_a_tokens_last_use_is_recorded_at_most_once_a_minute(api: Client, runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(update={"auth_cache_seconds": 0})
    client = api("dev")

    def last_used() -> str | None:
        with runtime.unit(write=False) as unit:
            [token] = unit.tokens.of_workspace(identity.workspace_for(unit, _dev(runtime), None).id)
            return token.last_used_at.isoformat() if token.last_used_at else None

    client.get("/api/v1/me")
    first = last_used()
    runtime.clock.advance(30)  # type: ignore[attr-defined]
    client.get("/api/v1/me")
    assert first is not None and last_used() == first
    runtime.clock.advance(31)  # type: ignore[attr-defined]
    client.get("/api/v1/me")
    assert last_used() != first


def _dev(runtime: Runtime) -> Principal:
    with runtime.unit(write=False) as unit:
        return identity.principal_for(unit, "dev@acme.test", "acme", via="test")
