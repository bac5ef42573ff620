"""The embedded client: usecases on the local store, in this process.

``plugboard.connect()`` opens the store the settings name (``PLUGBOARD_HOME``,
``PLUGBOARD_DATABASE_URL``, the master key) and acts as the local operator, or as a member with
``as_member=``. Use it as a context manager (``with`` or ``async with``) or call ``close()`` /
``await aclose()``: it keeps HTTP connections open between invokes.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import httpx2

from plugboard.auth.outbound import Resolver
from plugboard.client.auth_bridge import PlugboardAuth, plugboard_auth
from plugboard.client.protocol import (
    ClientLifecycle,
    InvokeResponse,
)
from plugboard.domain.principal import OPERATOR, Principal
from plugboard.settings import Settings
from plugboard.usecases.authorization_service import Authorizations
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.identity import principal_for
from plugboard.usecases.invoke import ConnectionAuth, Invoker
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.service_catalog import Services

if TYPE_CHECKING:
    from plugboard.usecases.app_service import Apps
    from plugboard.usecases.datasource_service import Datasources
    from plugboard.usecases.notifications import Notifications
    from plugboard.usecases.webhooks import Webhooks

__all__ = ["LocalClient", "connect"]


class LocalClient(ClientLifecycle):
    """Invoke connections of one workspace as one principal."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        principal: Principal = OPERATOR,
        workspace: str | None = None,
        owns_runtime: bool = False,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``resolver`` replaces the system's name resolution for outbound requests (the
        outbound guard checks and connects to what it returns); ``verify`` is their TLS trust
        (an SSLContext for a private CA)."""
        self.runtime = runtime
        self.principal = principal
        self.workspace = workspace
        self._owns_runtime = owns_runtime
        self._invoker = Invoker(runtime, resolver=resolver, verify=verify)
        self.connections = Connections(runtime, principal, workspace)
        self.authorizations = Authorizations(runtime, principal, workspace)
        self.services = Services(runtime, principal, workspace)

    # The app platform's services load on first use: a CLI command about connections does not
    # pay for importing apps, packages, webhooks and sync (half a second of its start-up).
    @cached_property
    def apps(self) -> Apps:
        from plugboard.usecases.app_service import Apps

        return Apps(self.runtime, self.principal, self.workspace)

    @cached_property
    def webhooks(self) -> Webhooks:
        from plugboard.usecases.webhooks import Webhooks

        return Webhooks(self.runtime, self.principal, self.workspace)

    @cached_property
    def datasources(self) -> Datasources:
        from plugboard.usecases.datasource_service import Datasources

        return Datasources(self.runtime, self.principal, self.workspace)

    @cached_property
    def notifications(self) -> Notifications:
        from plugboard.usecases.notifications import Notifications

        return Notifications(self.runtime, self.principal)

    def __repr__(self) -> str:
        return f"LocalClient(principal={self.principal.label!r}, workspace={self.workspace!r})"

    @property
    def invoker(self) -> Invoker:
        return self._invoker

    def invoke_url(
        self,
        url: str,
        method: str = "GET",
        *,
        connection: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        json: Any = None,
        environment: str | None = None,
        as_user: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_seconds: float | None = None,
    ) -> InvokeResponse:
        """Send ``method url`` with the connection's credential (SPEC §7).

        Raises AuthorizationRequired (who must act is in ``.who_must_act``), OutboundBlocked,
        UpstreamError (the service could not be reached), ValidationError, NotFound.
        """
        response = self._invoker.invoke(
            self.principal,
            url,
            method,
            connection=connection,
            headers=headers,
            params=params,
            data=data,
            json=json,
            environment=environment,
            as_user=as_user,
            timeout=timeout,
            max_attempts=max_attempts,
            max_retry_seconds=max_retry_seconds,
            workspace=self.workspace,
        )
        return _invoke_response(response)

    async def invoke_url_async(
        self,
        url: str,
        method: str = "GET",
        *,
        connection: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        json: Any = None,
        environment: str | None = None,
        as_user: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_seconds: float | None = None,
    ) -> InvokeResponse:
        response = await self._invoker.ainvoke(
            self.principal,
            url,
            method,
            connection=connection,
            headers=headers,
            params=params,
            data=data,
            json=json,
            environment=environment,
            as_user=as_user,
            timeout=timeout,
            max_attempts=max_attempts,
            max_retry_seconds=max_retry_seconds,
            workspace=self.workspace,
        )
        return _invoke_response(response)

    def auth(
        self, link_name: str, *, environment: str | None = None, as_user: str | None = None
    ) -> PlugboardAuth:
        """The connection's credential for any httpx2, httpx or requests client."""
        return plugboard_auth(
            ConnectionAuth(
                self._invoker,
                self.principal,
                link_name,
                environment=environment,
                as_user=as_user,
                workspace=self.workspace,
            )
        )

    def close(self) -> None:
        self._invoker.close()
        if self._owns_runtime:
            self.runtime.close()

    async def aclose(self) -> None:
        await self._invoker.aclose()
        self.close()


def _invoke_response(response: httpx2.Response) -> InvokeResponse:
    """``InvokeResponse.from_httpx`` without its costliest step: httpx2 finds the charset by
    parsing the Content-Type with the email package (about 10 us an answer); a Content-Type
    that names no charset gets the client's default encoding, which is httpx2's answer too."""
    content_type = response.headers.get("content-type")
    default = response.default_encoding
    if (content_type is None or "charset" not in content_type.lower()) and isinstance(default, str):
        return InvokeResponse(
            status=response.status_code,
            headers=response.headers,
            content=response.content,
            # The query may carry a credential (an API key parameter): never kept.
            url=str(response.url).partition("?")[0],
            encoding=default,
        )
    return InvokeResponse.from_httpx(response)


# --- sub-APIs: the usecases, one transaction per call ----------------------------------------


def connect(
    *,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    as_member: str | None = None,
    workspace: str | None = None,
) -> LocalClient:
    """An embedded client on the local store.

    ``as_member`` (an e-mail) acts as that member of ``workspace`` with their role; without it
    the client acts as the local operator, who holds the master key. Pass ``runtime`` to share
    an open one (its owner closes it).
    """
    owns = runtime is None
    if runtime is None:
        runtime = Runtime.open(settings or Settings())
    try:
        principal = OPERATOR
        if as_member is not None:
            with runtime.unit(write=False) as unit:
                principal = principal_for(unit, as_member, workspace, via="sdk")
    except BaseException:
        if owns:
            runtime.close()
        raise
    return LocalClient(runtime, principal=principal, workspace=workspace, owns_runtime=owns)
