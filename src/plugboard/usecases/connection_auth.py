"""`pb.auth(link_name)`: a connection's credential injected into the requests of any httpx2
client."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING

import anyio.to_thread
import httpx2

from plugboard.domain.principal import Principal

if TYPE_CHECKING:
    from plugboard.usecases.invoke import Invoker

__all__ = ["ConnectionAuth"]


class ConnectionAuth(httpx2.Auth):
    """Injects a connection's credential into requests of any httpx2 client.

    Resolves the authorization on each request (through the invoker's short cache), so a
    switched or revoked authorization takes effect without rebuilding the client. The URL is
    used as given (no placeholder substitution) and the outbound guard is the client's
    business.
    """

    def __init__(
        self,
        invoker: Invoker,
        actor: Principal,
        link_name: str,
        *,
        environment: str | None = None,
        as_user: str | None = None,
        workspace: str | None = None,
    ) -> None:
        self._invoker = invoker
        self._actor = actor
        self.link_name = link_name
        self.environment = environment
        self._as_user = as_user
        self._workspace = workspace

    def __repr__(self) -> str:
        return f"ConnectionAuth(link_name={self.link_name!r}, environment={self.environment!r})"

    def _inner(self, request: httpx2.Request) -> httpx2.Auth:
        entry = self._invoker.entry(
            self._actor,
            self.link_name,
            environment=self.environment,
            as_user=self._as_user,
            workspace=self._workspace,
        )
        resolved = entry.resolved
        self._invoker.check_target(resolved, str(request.url))
        return entry.auth

    def sync_auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        yield from self._inner(request).sync_auth_flow(request)

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        inner = await anyio.to_thread.run_sync(self._inner, request)
        flow = inner.async_auth_flow(request)
        step = await flow.__anext__()
        while True:
            response = yield step
            try:
                step = await flow.asend(response)
            except StopAsyncIteration:
                return

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        return self.sync_auth_flow(request)
