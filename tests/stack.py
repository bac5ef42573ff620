"""Fixtures for tests that act as workspace members: `members` and the served `stack`."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import httpx2
import pytest

from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR, Principal
from plugboard.server.app import create_app
from plugboard.server.background import ThreadedServer
from plugboard.testing.provider_state import ClientAuth
from plugboard.testing.server import ProviderServer
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime

ROLES = {
    "root": Role.SUPER_ADMIN,
    "admin": Role.ADMIN,
    "dev": Role.DEVELOPER,
    "user": Role.USER,
    "dev2": Role.DEVELOPER,
}

Actor = Callable[..., Principal]


@pytest.fixture
def members(runtime: Runtime) -> Actor:
    """Workspaces `acme` (developer) and `globex` (client), each with a member of every role
    (`root@acme.test`, `admin@globex.test`, …). Returns `as_(name, workspace="acme")`."""
    with runtime.unit() as unit:
        for ws, kind in (("acme", WorkspaceKind.DEVELOPER), ("globex", WorkspaceKind.CLIENT)):
            identity.create_workspace(unit, OPERATOR, ws, kind)
            for name, role in ROLES.items():
                identity.add_user(
                    unit, OPERATOR, email=f"{name}@{ws}.test", role=role, workspace=ws
                )

    def as_(name: str, workspace: str = "acme") -> Principal:
        with runtime.unit(write=False) as unit:
            return identity.principal_for(unit, f"{name}@{workspace}.test", workspace, via="test")

    return as_


@dataclass
class Stack:
    """Plugboard serving on 127.0.0.1, the provider beside it, and API clients per member."""

    base_url: str
    provider: ProviderServer
    runtime: Runtime
    members: Actor
    clients: list[httpx2.Client]

    def api(self, name: str, workspace: str = "acme") -> httpx2.Client:
        with self.runtime.unit() as unit:
            issued = identity.create_token(unit, self.members(name, workspace), name="e2e")
        client = httpx2.Client(
            base_url=f"{self.base_url}/api/v1",
            headers={"Authorization": f"Bearer {issued.secret}"},
            timeout=10,
        )
        self.clients.append(client)
        return client

    def browser(self) -> httpx2.Client:
        """Follows the provider's redirect back to Plugboard's callback, as a browser would."""
        client = httpx2.Client(follow_redirects=True, timeout=10)
        self.clients.append(client)
        return client

    def oauth2_service(
        self, link_name: str = "tp", auth_method: ClientAuth = ClientAuth.BASIC
    ) -> str:
        callback = f"{self.base_url}/oauth/callback"
        client = self.provider.state.register_oauth2_client(
            redirect_uris=[callback], auth_method=auth_method
        )
        p = self.provider.base_url
        return textwrap.dedent(f"""
            name: Test Provider
            link_name: {link_name}
            auth_type: oauth2
            allow_user_level: true
            oauth2:
              client_id: {client.client_id}
              client_secret: {client.client_secret}
              authorize_url: {p}/oauth2/authorize
              token_url: {p}/oauth2/token
              revoke_url: {p}/oauth2/revoke
              token_endpoint_auth_method: {auth_method.value}
              scopes:
                - {{name: read, description: Read things}}
                - {{name: write, description: Write things}}
            account_name: {{source: userinfo, url: "{p}/oauth2/userinfo", field: email}}
        """)


@pytest.fixture
def stack(runtime: Runtime, members: Actor, provider: ProviderServer) -> Iterator[Stack]:
    server = ThreadedServer(None, name="plugboard", lifespan="on")
    base_url = server.bind()
    settings = runtime.settings.model_copy(
        update={
            "base_url": base_url,
            "allow_http_hosts": "127.0.0.1",
            "outbound_allowlist": "127.0.0.1",
        }
    )
    served = replace(runtime, settings=settings)
    server.app = create_app(settings, runtime=served)
    server.start()
    s = Stack(base_url, provider, served, members, [])
    try:
        yield s
    finally:
        for client in s.clients:
            client.close()
        server.stop()
