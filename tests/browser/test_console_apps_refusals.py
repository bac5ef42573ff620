"""The console's Apps pages refuse without a browser (on SQLite and PostgreSQL): a component
write without the session's CSRF token changes nothing, a `user` cannot reach the create,
publish or install pages (nor write through them), a refused component form keeps what was
typed with the error next to the field, an app token's secret is shown once only, and an
import reports the renamed copies."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from plugboard.crypto.passwords import hash_password
from plugboard.server.app import create_app
from plugboard.usecases.app_service import Apps
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.service_catalog import Services
from tests.stack import Actor

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app_client(runtime: Runtime, members: Actor) -> Iterator[TestClient]:
    with runtime.unit() as unit:
        for name in ("dev", "user"):
            user = unit.users.get(f"{name}@acme.test")
            unit.users.set_password_hash(user.id, hash_password(PASSWORD))
    dev = members("dev")
    Services(runtime, dev).create(
        {
            "name": "Keys", "link_name": "keys", "base_url": "https://api.keys-service.io",
            "auth_type": "api_key", "allow_user_level": True,
            "api_key": {"parameters": [{"param_type": "header", "name": "X-Key",
                                        "display_name": "Key"}]},
        }
    )  # fmt: skip
    Connections(runtime, dev).create(service="keys", link_name="shared_keys")
    Connections(runtime, dev).create(service="keys", link_name="my_keys", level="user")
    Apps(runtime, dev).create(name="Sales", link_name="sales")
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        yield client


def _login(client: TestClient, name: str) -> str:
    response = client.post(
        "/console/login",
        data={"email": f"{name}@acme.test", "password": PASSWORD, "workspace": "acme"},
    )
    assert response.status_code == 200 and response.url.path == "/console/connections"
    match = _CSRF.search(response.text)
    assert match is not None
    return match.group(1)


def _put(client: TestClient, **fields: str) -> int:
    data = {"kind": "form", "name": "Leads", "connections": "shared_keys", **fields}
    return client.post(
        "/console/apps/sales/components", data=data, follow_redirects=False
    ).status_code


def test_a_component_write_without_the_csrf_token_is_refused_and_changes_nothing(
    app_client: TestClient, runtime: Runtime, members: Actor
) -> None:
    csrf = _login(app_client, "dev")
    assert _put(app_client) == 403
    assert _put(app_client, csrf_token="x" * 43) == 403
    removed = app_client.post(
        "/console/apps/sales/components/delete", data={"kind": "form", "name": "Leads"}
    )
    assert removed.status_code == 403 and "Form expired" in removed.text
    details = Apps(runtime, members("dev")).get("sales")
    assert details.components == [] and details.connections == []
    assert Connections(runtime, members("dev")).get("shared_keys").references == []

    # With the token the same write is accepted and its references are made.
    assert _put(app_client, csrf_token=csrf) == 303
    details = Apps(runtime, members("dev")).get("sales")
    assert [(c.kind, c.name, c.connections) for c in details.components] == [
        ("form", "Leads", ["shared_keys"])
    ]
    # Without the token it cannot be removed either.
    assert (
        app_client.post(
            "/console/apps/sales/components/delete", data={"kind": "form", "name": "Leads"}
        ).status_code
        == 403
    )
    assert len(Apps(runtime, members("dev")).get("sales").components) == 1

    # Editing keeps the component's kind and name (read-only) and changes what it uses.
    edit = app_client.get("/console/apps/sales/components/edit?kind=form&name=Leads")
    assert edit.status_code == 200 and 'value="Leads" readonly' in edit.text
    assert re.search(r'value="shared_keys" checked', edit.text)
    saved = app_client.post(
        "/console/apps/sales/components",
        data={"csrf_token": csrf, "editing": "1", "kind": "form", "name": "Leads",
              "connections": "my_keys"},
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    components = Apps(runtime, members("dev")).get("sales").components
    assert [c.connections for c in components] == [["my_keys"]]
    # Deleting the app needs the token too.
    assert app_client.post("/console/apps/sales/delete").status_code == 403
    assert [a.link_name for a in Apps(runtime, members("dev")).list()] == ["sales"]
    deleted = app_client.post(
        "/console/apps/sales/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert deleted.status_code == 303 and Apps(runtime, members("dev")).list() == []


def test_a_user_cannot_reach_the_create_publish_or_install_pages(
    app_client: TestClient, runtime: Runtime, members: Actor
) -> None:
    dev = members("dev")
    Apps(runtime, dev).put_component("sales", kind="form", name="Leads", connections=["my_keys"])
    csrf = _login(app_client, "user")
    for path in ("/console/apps/new", "/console/apps/install", "/console/apps/sales/publish",
                 "/console/apps/sales/components/new", "/console/apps/sales/tokens",
                 "/console/apps/sales/users"):  # fmt: skip
        assert app_client.get(path).status_code == 403, path
    # Not granted: the app does not exist for this user.
    assert app_client.get("/console/apps/sales").status_code == 404
    page = app_client.get("/console/apps")
    assert "No apps for you yet." in page.text and "New app" not in page.text

    writes = {
        "/console/apps/new": {"name": "Mine"},
        "/console/apps/sales/publish": {"components": "form/Leads"},
        "/console/apps/sales/components": {"kind": "form", "name": "Hacked"},
        "/console/apps/sales/tokens": {"name": "stolen"},
    }
    for path, data in writes.items():
        response = app_client.post(path, data={"csrf_token": csrf, **data})
        assert response.status_code == 403, path
    upload = app_client.post(
        "/console/apps/install", data={"csrf_token": csrf},
        files={"package": ("x.plugboard.json", b"{}", "application/json")},
    )  # fmt: skip
    assert upload.status_code == 403
    assert [a.link_name for a in Apps(runtime, dev).list()] == ["sales"]
    assert Apps(runtime, dev).versions("sales") == [] and Apps(runtime, dev).tokens("sales") == []
    assert [c.name for c in Apps(runtime, dev).get("sales").components] == ["Leads"]


def test_a_refused_component_form_keeps_what_was_typed_next_to_the_field(
    app_client: TestClient, runtime: Runtime, members: Actor
) -> None:
    csrf = _login(app_client, "dev")
    response = app_client.post(
        "/console/apps/sales/components",
        data={"csrf_token": csrf, "kind": "workflow", "name": " ", "connections": "my_keys"},
    )
    assert response.status_code == 422
    assert 'id="name-error"' in response.text and 'aria-invalid="true"' in response.text
    assert re.search(r'value="workflow" selected', response.text)
    assert re.search(r'value="my_keys" checked', response.text)

    Apps(runtime, members("dev")).create(name="Other", link_name="other")
    Apps(runtime, members("dev")).put_component(
        "other", kind="form", name="Taken", connections=["shared_keys"]
    )
    response = app_client.post(
        "/console/apps/sales/components",
        data={"csrf_token": csrf, "kind": "form", "name": "Deals", "connections": "shared_keys"},
    )
    assert response.status_code == 409
    assert 'id="connections-error"' in response.text and "exactly one app" in response.text
    assert 'value="Deals"' in response.text
    assert Apps(runtime, members("dev")).get("sales").components == []


def test_an_app_tokens_secret_is_shown_once_and_a_csrf_less_upload_is_refused(
    app_client: TestClient, runtime: Runtime, members: Actor
) -> None:
    csrf = _login(app_client, "dev")
    created = app_client.post("/console/apps/sales/tokens", data={"csrf_token": csrf, "name": "ci"})
    assert created.status_code == 200
    secret = re.search(r'id="token-secret">([^<]+)<', created.text)
    assert secret is not None and secret.group(1).startswith("pba_")
    listed = app_client.get("/console/apps/sales/tokens")
    assert secret.group(1) not in listed.text and "ci" in listed.text

    upload = app_client.post(
        "/console/apps/install",
        files={"package": ("x.plugboard.json", b"{}", "application/json")},
    )
    assert upload.status_code == 403 and "Form expired" in upload.text
    refused = app_client.post(
        "/console/apps/install", data={"csrf_token": csrf},
        files={"package": ("x.plugboard.json", b"{}", "application/json")},
    )  # fmt: skip
    assert refused.status_code == 422 and "digest" in refused.text
    assert [a.link_name for a in Apps(runtime, members("dev")).list()] == ["sales"]

    # Importing the app's own package here: its link names are taken, so copies arrive.
    dev = members("dev")
    Apps(runtime, dev).put_component("sales", kind="form", name="Leads", connections=["my_keys"])
    Apps(runtime, dev).publish("sales")
    imported = app_client.post(
        "/console/apps/install", data={"csrf_token": csrf},
        files={"package": ("sales-1.plugboard.json", Apps(runtime, dev).package("sales"),
                           "application/json")},
    )  # fmt: skip
    assert imported.status_code == 200 and "Imported Sales version 1" in imported.text
    renamed = re.search(r'id="report-renamed">(.*?)</dd>', imported.text, re.S)
    assert renamed is not None and "<code>my_keys</code> → <code>my_keys_copy</code>" in (
        renamed.group(1)
    )
    assert [a.link_name for a in Apps(runtime, dev).list()] == ["sales", "sales_copy"]
    assert Apps(runtime, dev).get("sales_copy").components[0].connections == ["my_keys_copy"]
