"""Fixtures for tests that act as workspace members: `members` and the served `stack`."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from plugboard.domain.credentials import ApiKeyCredential, OAuth2Credential
from plugboard.domain.models import ConnectionLevel, Role, WorkspaceKind
from plugboard.domain.permissions import MATRIX, Action
from plugboard.domain.principal import OPERATOR, Principal
from plugboard.server.app import create_app
from plugboard.testing.provider_state import DEMO_API_KEY, ClientAuth
from plugboard.testing.server import ProviderServer
from plugboard.threaded_server import ThreadedServer
from plugboard.tls import system_trust
from plugboard.usecases import identity
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service
from tests.seeded import seed_once

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
    (`root@acme.test`, `admin@globex.test`, …). Returns `as_(name, workspace="acme")`.
    Made through the usecases once per worker and store, then replayed (tests/seeded.py)."""

    def create() -> None:
        with runtime.unit() as unit:
            for ws, kind in (("acme", WorkspaceKind.DEVELOPER), ("globex", WorkspaceKind.CLIENT)):
                identity.create_workspace(unit, OPERATOR, ws, kind)
                for name, role in ROLES.items():
                    identity.add_user(
                        unit, OPERATOR, email=f"{name}@{ws}.test", role=role, workspace=ws
                    )

    seed_once(runtime, ("members",), create)

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
            verify=system_trust(),
        )
        self.clients.append(client)
        return client

    def browser(self) -> httpx2.Client:
        """Follows the provider's redirect back to Plugboard's callback, as a browser would."""
        client = httpx2.Client(follow_redirects=True, timeout=10, verify=system_trust())
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
            base_url: {p}
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


# -- a seeded workspace for API matrix and isolation tests -----------------------------------

WORKSPACES = {"acme": WorkspaceKind.DEVELOPER, "globex": WorkspaceKind.CLIENT}
API_ROLES = {
    "root": Role.SUPER_ADMIN,
    "admin": Role.ADMIN,
    "dev": Role.DEVELOPER,
    "user": Role.USER,
}
# Who builds (owns services and connections) in each workspace kind.
BUILDER = {"acme": "dev", "globex": "admin"}


def key_service(provider_url: str, link: str = "ksvc") -> str:
    return (
        f"name: Key {link}\nlink_name: {link}\nbase_url: {provider_url}/api/apikey\n"
        "auth_type: api_key\napi_key:\n  parameters:\n"
        "    - {param_type: header, name: X-Api-Key, display_name: API key}\n"
    )


OAUTH_SERVICE = """
name: OAuth svc
link_name: osvc
base_url: https://api.matrix-test.net
auth_type: oauth2
allow_user_level: true
oauth2:
  client_id: cid
  client_secret: client-secret-value
  authorize_url: https://auth.matrix-test.net/authorize
  token_url: https://auth.matrix-test.net/token
  scopes: [{name: read, description: Read}]
"""


@dataclass
class World:
    """One workspace seeded for a case: services, connections, authorizations."""

    runtime: Runtime
    members: Actor
    workspace: str
    provider_url: str
    tokens: dict[str, str] = field(default_factory=dict)

    def actor(self, name: str) -> Any:
        return self.members(name, self.workspace)

    def token(self, name: str) -> str:
        if name not in self.tokens:
            with self.runtime.unit() as unit:
                issued = identity.create_token(unit, self.actor(name), name=f"matrix-{name}")
            self.tokens[name] = issued.secret
        return self.tokens[name]

    def seed(self) -> None:
        """Through the usecases once per worker, store and starting state, then replayed
        (tests/seeded.py)."""
        seed_once(self.runtime, ("world", self.workspace, self.provider_url), self._seed)

    def _seed(self) -> None:
        builder = self.actor(BUILDER[self.workspace])
        with self.runtime.unit() as unit:
            create_custom_service(
                unit, builder, key_service(self.provider_url), http_hosts=["127.0.0.1"]
            )
            # osvc's API is the test provider, so "invoke own" reaches a real upstream
            oauth_service = OAUTH_SERVICE.replace(
                "https://api.matrix-test.net", f"{self.provider_url}/api/oauth2"
            )
            create_custom_service(unit, builder, oauth_service, http_hosts=["127.0.0.1"])
            for link, service, level in [
                ("c_admin", "ksvc", ConnectionLevel.ADMIN),
                ("c_fresh", "ksvc", ConnectionLevel.ADMIN),
                ("c_oauth", "osvc", ConnectionLevel.ADMIN),
                ("c_user", "osvc", ConnectionLevel.USER),
            ]:
                create_connection(unit, builder, service=service, link_name=link, level=level,
                                  scopes=["read"] if service == "osvc" else ())  # fmt: skip
            store_credential(
                unit, OPERATOR, connection="c_admin", workspace=self.workspace,
                credential=ApiKeyCredential({"X-Api-Key": DEMO_API_KEY}), account_name="Shared",
            )  # fmt: skip
            for name in ("root", "dev2"):  # the super admin authorizes first: primary
                store_credential(
                    unit, OPERATOR, connection="c_user", workspace=self.workspace,
                    owner=f"{name}@{self.workspace}.test",
                    credential=OAuth2Credential(f"token-of-{name}"),
                )  # fmt: skip

    def authorize_own(self, name: str) -> None:
        """Give the member their own authorization of c_user (if they have none)."""
        with self.runtime.unit() as unit:
            if name not in ("root", "dev2"):
                store_credential(
                    unit, OPERATOR, connection="c_user", workspace=self.workspace,
                    owner=f"{name}@{self.workspace}.test",
                    credential=OAuth2Credential(f"token-of-{name}"),
                )  # fmt: skip

    def own_custom_service(self, name: str) -> str:
        """A custom service created by `name` when the role may create one (else the builder's)."""
        may_create = API_ROLES[name] in MATRIX[Action.MANAGE_SERVICES][WORKSPACES[self.workspace]]
        creator = name if may_create else BUILDER[self.workspace]
        with self.runtime.unit() as unit:
            create_custom_service(unit, self.actor(creator), key_service(self.provider_url, "mine"),
                                  http_hosts=["127.0.0.1"])  # fmt: skip
        return "mine"


@pytest.fixture
def world_factory(
    runtime: Runtime, members: Actor, provider: ProviderServer
) -> Iterator[Callable[[str], tuple[World, TestClient]]]:
    settings = runtime.settings.model_copy(
        update={"allow_http_hosts": "127.0.0.1", "outbound_allowlist": "127.0.0.1"}
    )
    runtime.settings = settings
    clients: list[TestClient] = []

    def make(workspace: str) -> tuple[World, TestClient]:
        world = World(runtime, members, workspace, provider.base_url)
        world.seed()
        client = TestClient(create_app(settings, runtime=runtime))
        client.__enter__()  # runs the app's lifespan, which closes its HTTP clients at exit
        clients.append(client)
        return world, client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
