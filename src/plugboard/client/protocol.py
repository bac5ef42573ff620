"""What every Plugboard client offers app code, embedded (local) or remote over REST.

Both satisfy :class:`PlugboardClient`, so app code is the same on a laptop and in a deployment:
``invoke_url`` / ``invoke_url_async``, ``auth()``, and the ``connections``, ``authorizations``,
``services``, ``apps`` and ``datasources`` sub-APIs, which return the plain records below
(never a credential).
Both raise the same :mod:`plugboard.errors` classes for the same failures.
"""

from __future__ import annotations

import abc
import builtins
import json as _json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, runtime_checkable

import httpx2

from plugboard.client.auth_bridge import PlugboardAuth
from plugboard.client.protocol_notifications import NotificationsAPI
from plugboard.client.protocol_platform import AppsAPI, DatasourcesAPI, WebhooksAPI
from plugboard.records import (
    AuthorizationListItem,
    AuthorizationPublic,
    ConnectionDetailsPublic,
    ConnectionEdited,
    ConnectionPublic,
    ReferencePublic,
    RevokeResult,
    ServiceChangeResult,
    ServiceClientPublic,
    ServicePublic,
)

__all__ = [
    "AppsAPI",
    "AuthorizationInfo",
    "AuthorizationsAPI",
    "ConnectionDetails",
    "ConnectionInfo",
    "ConnectionsAPI",
    "DatasourcesAPI",
    "InvokeResponse",
    "NotificationsAPI",
    "PlugboardClient",
    "RevokeInfo",
    "ServiceInfo",
    "ServicesAPI",
    "WebhooksAPI",
]


@dataclass(frozen=True, slots=True)
class InvokeResponse:
    """The third-party service's answer: status, headers and body, whatever the status."""

    status: int
    headers: httpx2.Headers
    content: bytes
    url: str
    encoding: str | None = None

    @classmethod
    def from_httpx(cls, response: httpx2.Response) -> InvokeResponse:
        return cls(
            status=response.status_code,
            headers=response.headers,
            content=response.content,
            # The query may carry a credential (an API key parameter): never kept.
            url=str(response.url).partition("?")[0],
            encoding=response.encoding,
        )

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    def __repr__(self) -> str:
        return f"<InvokeResponse [{self.status}]>"


# The public records (plugboard.records) under the names the SDK has always used: both clients
# return exactly what the REST API answers.
ConnectionInfo = ConnectionPublic
ConnectionDetails = ConnectionDetailsPublic
AuthorizationInfo = AuthorizationListItem
ReferenceInfo = ReferencePublic


ServiceInfo = ServicePublic
ServiceChange = ServiceChangeResult
RevokeInfo = RevokeResult


class ConnectionsAPI(Protocol):
    def list(
        self, *, service: str | None = None, level: str | None = None, search: str | None = None
    ) -> builtins.list[ConnectionInfo]: ...

    def get(self, link_name: str) -> ConnectionDetails: ...

    def create(
        self,
        *,
        service: str,
        name: str | None = None,
        link_name: str | None = None,
        scopes: Sequence[str] = (),
        all_scopes: bool = False,
        level: str = "admin",
        per_environment: bool = False,
        params: Mapping[str, str] | None = None,
    ) -> ConnectionInfo: ...

    def delete(self, link_name: str) -> None: ...

    def edit(
        self,
        link_name: str,
        *,
        name: str | None = None,
        scopes: Sequence[str] | None = None,
        all_scopes: bool = False,
    ) -> ConnectionEdited: ...

    def references(self, link_name: str) -> builtins.list[ReferenceInfo]: ...


class AuthorizationsAPI(Protocol):
    def list(
        self,
        link_name: str,
        *,
        search: str | None = None,
        user_type: str | None = None,
        environment: str | None = None,
    ) -> builtins.list[AuthorizationInfo]: ...

    def enter_credential(
        self,
        link_name: str,
        values: Mapping[str, str],
        *,
        environments: Sequence[str] = (),
        owner: str | None = None,
        account_name: str | None = None,
        test: bool = True,
    ) -> builtins.list[AuthorizationInfo]: ...

    def revoke(
        self, link_name: str, *, environment: str | None = None, owner: str | None = None
    ) -> RevokeInfo: ...

    def rename(
        self,
        link_name: str,
        name: str,
        *,
        environment: str | None = None,
        owner: str | None = None,
    ) -> AuthorizationPublic: ...

    def set_primary(
        self, link_name: str, *, owner: str, environment: str | None = None
    ) -> AuthorizationPublic: ...

    def reuse(
        self, link_name: str, account: str, *, environment: str = "all", owner: str | None = None
    ) -> AuthorizationPublic: ...


class ServicesAPI(Protocol):
    def list(
        self, *, category: str | None = None, search: str | None = None, custom: bool = False
    ) -> builtins.list[ServiceInfo]: ...

    def get(self, link_name: str) -> ServiceInfo: ...

    def create(self, definition: str | Mapping[str, Any]) -> ServiceInfo: ...

    def edit(self, link_name: str, definition: str | Mapping[str, Any]) -> ServiceChange: ...

    def delete(self, link_name: str) -> int: ...

    def set_client(
        self, link_name: str, client_id: str, client_secret: str | None = None
    ) -> ServiceClientPublic: ...


class ClientLifecycle(abc.ABC):
    """`with` and `async with` for a client: leaving closes it."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@runtime_checkable
class PlugboardClient(Protocol):
    @property
    def connections(self) -> ConnectionsAPI: ...

    @property
    def authorizations(self) -> AuthorizationsAPI: ...

    @property
    def services(self) -> ServicesAPI: ...

    @property
    def apps(self) -> AppsAPI: ...

    @property
    def webhooks(self) -> WebhooksAPI: ...

    @property
    def datasources(self) -> DatasourcesAPI: ...

    @property
    def notifications(self) -> NotificationsAPI: ...

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
    ) -> InvokeResponse: ...

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
    ) -> InvokeResponse: ...

    def auth(
        self, link_name: str, *, environment: str | None = None, as_user: str | None = None
    ) -> PlugboardAuth: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...
