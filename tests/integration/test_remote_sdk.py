"""App code does not change between a laptop and a deployment: the same functions run against the
embedded LocalClient and a RemoteClient of a served Plugboard (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
import yaml

import plugboard
from plugboard import (
    AuthorizationRequired,
    NotFound,
    PermissionDenied,
    PlugboardClient,
    PlugboardError,
    ServerUnreachable,
    ValidationError,
)
from plugboard.client import LocalClient, RemoteClient
from plugboard.testing.provider_state import DEMO_API_KEY
from tests.integration.remote_support import key_connection, key_service, token
from tests.stack import Stack

Client = Callable[[str], PlugboardClient]


@pytest.fixture
def clients(stack: Stack) -> Iterator[dict[str, Client]]:
    """`clients[kind](member)`: a local or a remote client acting as that member of acme."""
    opened: list[LocalClient | RemoteClient] = []

    def local(member: str) -> PlugboardClient:
        client = LocalClient(stack.runtime, principal=stack.members(member))
        opened.append(client)
        return client

    def remote(member: str) -> PlugboardClient:
        client = plugboard.connect(stack.base_url, token=token(stack, member))
        opened.append(client)
        return client

    yield {"local": local, "remote": remote}
    for client in opened:
        client.close()


KINDS = pytest.mark.parametrize("kind", ["local", "remote"])


# --- the app code: written once ---------------------------------------------------------------


def place_order(pb: PlugboardClient) -> tuple[int, str, Any, Any]:
    answer = pb.invoke_url(
        "/orders", "POST", connection="keys", json={"sku": "A-1"}, params={"page": 2, "all": True}
    )
    body = answer.json()
    return answer.status, body["auth"], body["json"], body["query"]


def connection_names(pb: PlugboardClient) -> list[tuple[str, str, str]]:
    return [(c.link_name, c.service, c.level) for c in pb.connections.list()]


def failure(action: Callable[[], object]) -> PlugboardError:
    with pytest.raises(PlugboardError) as caught:
        action()
    return caught.value


# --- the same results -------------------------------------------------------------------------


@KINDS
def test_app_code_invokes_with_an_api_key_credential(
    stack: Stack, clients: dict[str, Client], kind: str
) -> None:
    key_connection(stack)
    result = place_order(clients[kind]("dev"))
    assert result == (200, "apikey", {"sku": "A-1"}, {"page": "2", "all": "true"})


@KINDS
def test_app_code_gets_authorization_required_saying_who_must_act(
    stack: Stack, clients: dict[str, Client], kind: str
) -> None:
    key_connection(stack, authorized=False, level="user")
    with pytest.raises(AuthorizationRequired) as caught:
        place_order(clients[kind]("user"))
    assert caught.value.connection == "keys"
    assert "authorize this connection for yourself" in caught.value.who_must_act


@KINDS
def test_app_code_lists_connections(stack: Stack, clients: dict[str, Client], kind: str) -> None:
    key_connection(stack, link="keys")
    key_connection(stack, link="more_keys", authorized=False, new_service=False)
    assert connection_names(clients[kind]("dev")) == [
        ("keys", "keysvc", "admin"),
        ("more_keys", "keysvc", "admin"),
    ]


@KINDS
def test_app_code_creates_shows_and_deletes_a_connection(
    stack: Stack, clients: dict[str, Client], kind: str
) -> None:
    stack.api("dev").post("/services", json=yaml.safe_load(key_service(stack)))
    pb = clients[kind]("dev")
    created = pb.connections.create(service="keysvc", link_name="crm", name="CRM")
    pb.authorizations.enter_credential("crm", {"X-Api-Key": DEMO_API_KEY})
    details = pb.connections.get("crm")
    pb.connections.delete("crm")
    assert (created.link_name, created.name) == ("crm", "CRM")
    assert [a.status for a in details.authorizations] == ["connected"]
    assert connection_names(pb) == []


@KINDS
def test_app_code_lists_and_revokes_authorizations(
    stack: Stack, clients: dict[str, Client], kind: str
) -> None:
    key_connection(stack)
    pb = clients[kind]("dev")
    listed = [(a.environment, a.status) for a in pb.authorizations.list("keys")]
    revoked = pb.authorizations.revoke("keys")
    assert listed == [("all", "connected")]
    assert revoked.status == "revoked"
    assert pb.authorizations.list("keys", search="nobody") == []


@KINDS
def test_app_code_reads_the_service_catalog(
    stack: Stack, clients: dict[str, Client], kind: str
) -> None:
    pb = clients[kind]("dev")
    assert pb.services.get("github").auth_type == "oauth2"
    assert "github" in [s.link_name for s in pb.services.list(search="github")]


@KINDS
def test_app_code_invokes_asynchronously(
    stack: Stack, clients: dict[str, Client], kind: str
) -> None:
    key_connection(stack)
    pb = clients[kind]("dev")

    async def main() -> int:
        answer = await pb.invoke_url_async("/orders", connection="keys")
        await pb.aclose()
        return answer.status

    assert asyncio.run(main()) == 200


# --- the same exceptions ------------------------------------------------------------------------


def test_remote_errors_are_the_local_error_classes_with_the_same_messages(
    stack: Stack, clients: dict[str, Client]
) -> None:
    key_connection(stack, authorized=False, level="user")
    local, remote = clients["local"]("user"), clients["remote"]("user")
    cases: list[Callable[[PlugboardClient], object]] = [
        lambda pb: pb.invoke_url("/x", connection="keys"),
        lambda pb: pb.invoke_url("/x", connection="nope"),
        lambda pb: pb.connections.delete("keys"),
        lambda pb: pb.invoke_url("/x", connection="keys", environment="moon"),
    ]
    expected = [AuthorizationRequired, NotFound, PermissionDenied, ValidationError]
    for case, cls in zip(cases, expected, strict=True):
        here, there = failure(lambda c=case: c(local)), failure(lambda c=case: c(remote))
        assert type(here) is type(there) is cls
        assert here.message == there.message
        assert here.to_dict() == there.to_dict()


def test_a_remote_validation_error_names_the_field(
    stack: Stack, clients: dict[str, Client]
) -> None:
    with pytest.raises(ValidationError) as caught:
        clients["remote"]("dev").connections.create(service="github", level="everyone")
    assert caught.value.field == "level"


@KINDS
def test_a_header_name_ending_in_a_newline_is_a_validation_error_naming_the_header(
    stack: Stack, clients: dict[str, Client], kind: str
) -> None:
    key_connection(stack)
    with pytest.raises(ValidationError) as caught:
        clients[kind]("dev").invoke_url(
            "/orders", connection="keys", headers={"X-Fine": "1", "X-Injected\n": "1"}
        )
    assert (caught.value.field, caught.value.rule) == ("headers[1]", "header_name")


def test_an_unreachable_server_is_server_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with plugboard.connect(f"http://127.0.0.1:{port}", token="pbt_x") as pb:
            with pytest.raises(ServerUnreachable):
                pb.connections.list()


# --- auth(): any httpx2 client, through the proxy ----------------------------------------------


def test_remote_auth_works_with_a_plain_httpx2_client_and_keeps_the_secret_server_side(
    stack: Stack, clients: dict[str, Client]
) -> None:
    key_connection(stack)
    pb = clients["remote"]("dev")
    url = f"{stack.provider.base_url}/api/apikey/orders?page=2"
    with httpx2.Client(auth=pb.auth("keys")) as http:
        answer = http.post(url, json={"sku": "A-1"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["auth"], body["path"], body["query"]) == ("apikey", "/orders", {"page": "2"})
    assert str(answer.request.url).startswith(f"{stack.base_url}/proxy/keys/")
    sent = repr(answer.request.headers.multi_items()) + str(answer.request.url)
    assert DEMO_API_KEY not in sent and DEMO_API_KEY not in answer.text


def test_remote_auth_works_with_an_async_httpx2_client(
    stack: Stack, clients: dict[str, Client]
) -> None:
    key_connection(stack)
    auth = clients["remote"]("dev").auth("keys")

    async def main() -> int:
        async with httpx2.AsyncClient(auth=auth) as http:
            answer = await http.get(f"{stack.provider.base_url}/api/apikey/me")
        return answer.status_code

    assert asyncio.run(main()) == 200


def test_connect_with_a_url_returns_a_remote_client(stack: Stack) -> None:
    with plugboard.connect(stack.base_url, token=token(stack, "dev")) as pb:
        assert isinstance(pb, RemoteClient) and isinstance(pb, PlugboardClient)
        assert "pbt_" not in repr(pb)
