"""The REST API in-process (one TestClient per test) as the members of `acme` and `globex`, and
a property-sales app built over it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from plugboard.domain.packages import digest_of
from plugboard.domain.principal import Principal
from plugboard.server.app import create_app
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime
from tests.stack import Actor

APP = "property_sales"


class Member:
    """One member's (or app's) calls: each request carries their bearer token."""

    def __init__(self, client: TestClient, token: str) -> None:
        self._client = client
        self.token = token

    def request(self, method: str, path: str, **options: Any) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {self.token}", **options.pop("headers", {})}
        return self._client.request(method, f"/api/v1{path}", headers=headers, **options)

    def get(self, path: str, **options: Any) -> httpx2.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx2.Response:
        return self.request("POST", path, **options)

    def put(self, path: str, **options: Any) -> httpx2.Response:
        return self.request("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> httpx2.Response:
        return self.request("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> httpx2.Response:
        return self.request("DELETE", path, **options)


class Rest:
    def __init__(self, client: TestClient, runtime: Runtime, members: Actor) -> None:
        self.client = client
        self.runtime = runtime
        self.members = members

    def as_(self, name: str, workspace: str = "acme") -> Member:
        return self.as_principal(self.members(name, workspace))

    def as_principal(self, principal: Principal) -> Member:
        with self.runtime.unit() as unit:
            issued = identity.create_token(unit, principal, name="apps-rest")
        return Member(self.client, issued.secret)

    def as_app_token(self, secret: str) -> Member:
        return Member(self.client, secret)


@pytest.fixture
def rest(runtime: Runtime, members: Actor) -> Iterator[Rest]:
    runtime.settings = runtime.settings.model_copy(update={"allow_http_hosts": "127.0.0.1"})
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        yield Rest(client, runtime, members)


def ok(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def build_property_sales(dev: Member) -> None:
    """The reference's app: a form on an admin connection (Books), a workflow on a user-level
    one (Sheets) and a service (twilio) served by a system connection. Needs the `builder`."""
    ok(dev.post("/connections", json={
        "service": "books", "link_name": "books_ledger", "name": "Books ledger",
        "scopes": ["invoices.read"],
    }), 201)  # fmt: skip
    ok(dev.post("/connections", json={
        "service": "sheets", "link_name": "team_sheet", "name": "Team sheet", "level": "user",
    }), 201)  # fmt: skip
    ok(dev.post("/apps", json={"name": "Property sales"}), 201)
    ok(dev.put(f"/apps/{APP}/components/form/Listing", json={"connections": ["books_ledger"]}))
    body = {"connections": ["team_sheet"], "services": ["twilio"]}
    ok(dev.put(f"/apps/{APP}/components/workflow/Sync", json=body))


def package_of(dev: Member, app: str = APP) -> bytes:
    """Publish the app to stage and return its package file."""
    ok(dev.post(f"/apps/{app}/publish"), 201)
    answer = dev.get(f"/apps/{app}/package")
    assert answer.status_code == 200, answer.text
    return answer.content


def resealed(package: bytes, change: Any) -> bytes:
    """The package after ``change(document)``, with a digest that matches again: only the
    content rules can refuse it."""
    document = json.loads(package)
    document.pop("digest")
    change(document)
    return json.dumps({**document, "digest": digest_of(document)}).encode()
