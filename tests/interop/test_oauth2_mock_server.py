"""Interop: Plugboard's consent and refresh against oauth2-mock-server, an OAuth 2 server
someone else wrote (npm), started on 127.0.0.1. `make test` installs it into
tests/interop/oauth2_mock_server; without it (or node) the test is skipped, under CI=true failed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import pytest
import yaml

from plugboard.client.local import LocalClient
from plugboard.testing.provider_state import ClientAuth
from tests.stack import Stack

HARNESS = Path(__file__).parent / "oauth2_mock_server"
IN_CI = os.environ.get("CI", "").lower() == "true"


class MockServer:
    def __init__(self) -> None:
        node = shutil.which("node")
        installed = (HARNESS / "node_modules" / "oauth2-mock-server").is_dir()
        if node is None or not installed:
            why = "node is not installed" if node is None else "run `make test` to install it"
            message = f"oauth2-mock-server unavailable: {why}"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        self.process = subprocess.Popen(
            [node, "serve.mjs"], cwd=HARNESS, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.events: Queue[dict[str, object]] = Queue()
        threading.Thread(target=self._read, daemon=True).start()
        listening = self.next("listening")
        # It names itself `localhost`; it listens on 127.0.0.1, the address we allow.
        self.url = str(listening["url"]).replace("//localhost:", "//127.0.0.1:")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self.events.put(json.loads(line))

    def next(self, event: str, timeout: float = 15) -> dict[str, object]:
        while True:
            try:
                item = self.events.get(timeout=timeout)
            except Empty:
                raise AssertionError(f"oauth2-mock-server reported no {event!r}") from None
            if item["event"] == event:
                return item

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


@pytest.fixture
def mock_server() -> Iterator[MockServer]:
    server = MockServer()
    yield server
    server.stop()


def _service(server: MockServer, method: ClientAuth) -> str:
    u = server.url
    return textwrap.dedent(f"""
        name: Mock OAuth
        link_name: mock_oauth
        base_url: {u}
        auth_type: oauth2
        oauth2:
          client_id: plugboard-interop
          client_secret: interop-secret
          authorize_url: {u}/authorize
          token_url: {u}/token
          revoke_url: {u}/revoke
          token_endpoint_auth_method: {method.value}
          scopes: [{{name: openid, description: OpenID}}]
        account_name: {{source: userinfo, url: "{u}/userinfo", field: sub}}
    """)


@pytest.mark.parametrize("method", [ClientAuth.BASIC, ClientAuth.POST])
def test_consent_and_refresh_work_against_an_independent_oauth2_server(
    stack: Stack, mock_server: MockServer, method: ClientAuth
) -> None:
    api = stack.api("dev")
    assert (
        api.post("/services", json=yaml.safe_load(_service(mock_server, method))).status_code == 201
    )
    made = api.post("/connections", json={"service": "mock_oauth", "scopes": ["openid"]})
    assert made.status_code == 201, made.text
    link = made.json()["link_name"]
    started = api.post(f"/connections/{link}/consents", json={}).json()

    page = stack.browser().get(started["authorize_url"])

    assert page.status_code == 200 and "Connected" in page.text, page.text
    exchange = mock_server.next("token")
    assert exchange == {
        "event": "token", "grant_type": "authorization_code", "client_auth": method.value,
        "pkce": True, "status": 200,
    }  # fmt: skip
    [row] = api.get(f"/connections/{link}/authorizations").json()["items"]
    assert row["account_name"] == "johndoe"  # from its userinfo endpoint

    with stack.runtime.unit(write=False) as unit:
        before = unit.accounts.get(row_account_id(stack, link)).credential["refresh_token"]
    stack.runtime.clock.advance(3600)  # type: ignore[attr-defined]  # past expires_in
    with LocalClient(stack.runtime, workspace="acme") as pb:
        response = pb.invoke_url(f"{mock_server.url}/userinfo", connection=link)
    assert response.status_code == 200
    refresh = mock_server.next("token")
    assert (refresh["grant_type"], refresh["client_auth"]) == ("refresh_token", method.value)
    with stack.runtime.unit(write=False) as unit:
        after = unit.accounts.get(row_account_id(stack, link)).credential["refresh_token"]
    assert after != before  # the server rotates refresh tokens; the new one was kept


def row_account_id(stack: Stack, link: str) -> str:
    with stack.runtime.unit(write=False) as unit:
        conn = unit.connections.get(stack.members("dev").workspace_id or "", link)
        [row] = unit.authorizations.of_connection(conn.id)
        assert row.summary.account_id is not None
        return row.summary.account_id
