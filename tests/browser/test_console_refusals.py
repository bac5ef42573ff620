"""The console's refusals without a browser (on SQLite and PostgreSQL): a write without the
session's CSRF token changes nothing, a `user` cannot reach builder pages, a refused form keeps
what was typed (never a secret), and the console's HTML is under the suite's secret scan."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from plugboard.crypto.passwords import hash_password
from plugboard.server.app import create_app
from plugboard.usecases.authorization_service import Authorizations
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.service_catalog import Services
from tests.conftest import _RESPONSES
from tests.stack import Actor

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app_client(runtime: Runtime, members: Actor) -> Iterator[TestClient]:
    with runtime.unit() as unit:
        for name in ("dev", "user"):
            user = unit.users.get(f"{name}@acme.test")
            unit.users.set_password_hash(user.id, hash_password(PASSWORD))
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        yield client


def _login(client: TestClient, name: str) -> str:
    """Log in through the console's form; returns the CSRF token its pages carry."""
    response = client.post(
        "/console/login",
        data={"email": f"{name}@acme.test", "password": PASSWORD, "workspace": "acme"},
    )
    assert response.status_code == 200 and response.url.path == "/console/connections"
    match = _CSRF.search(response.text)
    assert match is not None
    return match.group(1)


def _create(client: TestClient, **fields: str) -> int:
    data = {"service": "github", "level": "admin", "scope": "repo", **fields}
    return client.post("/console/connections/new", data=data, follow_redirects=False).status_code


def test_a_write_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    app_client: TestClient, runtime: Runtime, members: Actor
) -> None:
    csrf = _login(app_client, "dev")
    assert _create(app_client, link_name="no_token") == 403
    assert _create(app_client, link_name="wrong_token", csrf_token="x" * 43) == 403
    assert "Form expired" in app_client.post("/console/logout").text
    assert Connections(runtime, members("dev")).list() == []
    # The same write with the token (in the form, or in htmx's header) is accepted.
    assert _create(app_client, link_name="with_token", csrf_token=csrf) == 303
    app_client.headers["X-CSRF-Token"] = csrf
    assert _create(app_client, link_name="with_header") == 303
    assert [c.link_name for c in Connections(runtime, members("dev")).list()] == [
        "with_header",
        "with_token",
    ]


def test_no_session_goes_to_the_login_page_and_next_stays_on_this_server(
    app_client: TestClient,
) -> None:
    response = app_client.get("/console/connections?level=user", follow_redirects=False)
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == "/console/login?next=%2Fconsole%2Fconnections%3Flevel%3Duser"
    )
    refused = app_client.post(
        "/console/login", data={"email": "dev@acme.test", "password": "wrong", "workspace": "acme"}
    )
    assert refused.status_code == 401
    assert 'value="dev@acme.test"' in refused.text and "Wrong e-mail" in refused.text
    page = app_client.get("/console/login?next=https://evil.example/console")
    assert 'name="next" value="/console/connections"' in page.text


def test_a_user_cannot_reach_builder_pages(
    app_client: TestClient, runtime: Runtime, members: Actor
) -> None:
    Services(runtime, members("dev")).create(
        {
            "name": "Keys", "link_name": "keys", "base_url": "https://api.keys-service.io",
            "auth_type": "api_key",
            "api_key": {"parameters": [{"param_type": "header", "name": "X-Key",
                                        "display_name": "Key"}]},
        }
    )  # fmt: skip
    Connections(runtime, members("dev")).create(service="keys", link_name="shared_keys")
    csrf = _login(app_client, "user")
    for path in ("/console/audit", "/console/services/new", "/console/connections/new",
                 "/console/services/keys/edit"):  # fmt: skip
        assert app_client.get(path).status_code == 403, path
    assert app_client.get("/console/connections/shared_keys").status_code == 404
    assert _create(app_client, link_name="by_user", csrf_token=csrf) == 403
    deleted = app_client.post(
        "/console/services/keys/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert deleted.status_code == 403
    assert Services(runtime, members("dev")).get("keys").name == "Keys"
    assert "Audit log" not in app_client.get("/console/connections").text


def test_a_refused_form_keeps_what_was_typed_but_never_a_secret(
    app_client: TestClient, runtime: Runtime, members: Actor
) -> None:
    csrf = _login(app_client, "dev")
    response = app_client.post(
        "/console/connections/new",
        data={
            "csrf_token": csrf,
            "service": "github",
            "name": "Repo bot",
            "link_name": "Repo Bot",
            "level": "admin",
            "scope": "repo",
        },  # fmt: skip
    )
    assert response.status_code == 422
    assert 'value="Repo bot"' in response.text and 'value="Repo Bot"' in response.text
    assert 'id="link_name-error"' in response.text and 'aria-invalid="true"' in response.text
    assert re.search(r'value="repo" checked', response.text)

    response = app_client.post(
        "/console/services/new",
        data={
            "csrf_token": csrf,
            "auth_type": "oauth2",
            "name": "My CRM",
            "link_name": "my_crm",
            "base_url": "not a url",
            "oauth2.client_id": "crm-client",
            "oauth2.client_secret": "typed-secret-value",
            "oauth2.authorize_url": "https://login.mycrm.io/authorize",
            "oauth2.token_url": "https://login.mycrm.io/token",
        },  # fmt: skip
    )
    assert response.status_code == 422
    assert 'id="base_url-error"' in response.text
    assert 'value="My CRM"' in response.text and 'value="crm-client"' in response.text
    assert "typed-secret-value" not in response.text
    assert Services(runtime, members("dev")).list(custom=True) == []


def test_console_pages_are_under_the_secret_scan_and_show_no_credential(
    app_client: TestClient, runtime: Runtime, members: Actor
) -> None:
    dev = members("dev")
    Services(runtime, dev).create(
        {
            "name": "Basic",
            "link_name": "basic_svc",
            "base_url": "https://api.basic-svc.io",
            "auth_type": "basic",
        }  # fmt: skip
    )
    Connections(runtime, dev).create(service="basic_svc", link_name="books")
    Authorizations(runtime, dev).enter_credential(
        "books", {"username": "ada", "password": "hunter2-but-longer"}, test=False
    )
    start = len(_RESPONSES)
    _login(app_client, "dev")
    for path in ("/console/connections", "/console/connections/books",
                 "/console/connections/books/authorize", "/console/audit"):  # fmt: skip
        page = app_client.get(path)
        assert page.status_code == 200 and "hunter2-but-longer" not in page.text
    scanned = [path for path, _ in _RESPONSES[start:] if path.startswith("/console")]
    # The suite's autouse scan checks these after the test, with every stored secret.
    assert "/console/connections/books/authorize" in scanned
