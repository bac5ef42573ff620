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
from plugboard.records.apps import (
    AppDetailsPublic,
    AppPublic,
    AppTokenIssued,
    AppTokenPublic,
    AppUserPublic,
    AppVersionPublic,
    ComponentPublic,
    InstallReportPublic,
    PanelEntryPublic,
    SystemConnectionPublic,
)
from plugboard.records.datasources import DatasourcePublic, RecordPage, SyncPublic, SyncRequested
from plugboard.records.webhooks import (
    WebhookCreated,
    WebhookDeliveryDetails,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookSecretIssued,
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


class AppsAPI(Protocol):
    """Apps (SPEC §6): build them in a developer workspace, publish to stage, package, install
    into a client workspace; app tokens, system connections and the connections panel."""

    def list(
        self, *, after: str | None = None, limit: int | None = None
    ) -> builtins.list[AppPublic]: ...

    def get(self, app: str, *, environment: str | None = None) -> AppDetailsPublic: ...

    def create(self, *, name: str, link_name: str | None = None) -> AppPublic: ...

    def rename(self, app: str, *, name: str) -> AppPublic: ...

    def delete(self, app: str) -> None: ...

    def put_component(
        self,
        app: str,
        *,
        kind: str,
        name: str,
        connections: Sequence[str] = (),
        services: Sequence[str] = (),
    ) -> ComponentPublic: ...

    def delete_component(self, app: str, *, kind: str, name: str) -> None: ...

    def enable_access(self, app: str, connection: str) -> ConnectionPublic: ...

    def disable_access(self, app: str, connection: str) -> ConnectionPublic: ...

    def grant(self, app: str, email: str) -> bool: ...

    def ungrant(self, app: str, email: str) -> bool: ...

    def users(self, app: str) -> builtins.list[AppUserPublic]: ...

    def publish(self, app: str, *, components: Sequence[str] | None = None) -> AppVersionPublic: ...

    def versions(self, app: str) -> builtins.list[AppVersionPublic]: ...

    def package(self, app: str, *, version: int | None = None) -> bytes: ...

    def install(self, package: bytes) -> InstallReportPublic: ...

    def import_package(self, package: bytes) -> InstallReportPublic: ...

    def create_token(self, app: str, *, name: str = "app") -> AppTokenIssued: ...

    def tokens(self, app: str) -> builtins.list[AppTokenPublic]: ...

    def revoke_token(self, app: str, token_id: str) -> AppTokenPublic: ...

    def system_connection(self, app: str, service: str) -> SystemConnectionPublic: ...

    def panel(
        self, app: str, *, environment: str | None = None
    ) -> builtins.list[PanelEntryPublic]: ...


class DatasourcesAPI(Protocol):
    """Datasources of an app (SPEC §8): configure them, ask for syncs, read the records kept."""

    def list(
        self, app: str, *, environment: str | None = None
    ) -> builtins.list[DatasourcePublic]: ...

    def get(self, app: str, name: str, *, environment: str | None = None) -> DatasourcePublic: ...

    def create(
        self, app: str, *, name: str, connection: str, module: str, environment: str | None = None
    ) -> DatasourcePublic: ...

    def configure(
        self, app: str, name: str, values: Mapping[str, str], *, environment: str | None = None
    ) -> DatasourcePublic: ...

    def enable(
        self, app: str, name: str, *, environment: str | None = None
    ) -> DatasourcePublic: ...

    def disable(
        self, app: str, name: str, *, environment: str | None = None
    ) -> DatasourcePublic: ...

    def delete(self, app: str, name: str, *, environment: str | None = None) -> None: ...

    def sync(self, datasource_id: str, *, as_user: str | None = None) -> SyncRequested: ...

    def get_sync(self, sync_id: str) -> SyncPublic: ...

    def records(
        self, datasource_id: str, *, after: str | None = None, limit: int = 100
    ) -> RecordPage: ...


class WebhooksAPI(Protocol):
    """Webhook endpoints of the workspace (SPEC §11; workspace admins and super admins): the
    signing secret is answered once, by ``create`` and ``rotate``."""

    def list(self) -> builtins.list[WebhookPublic]: ...

    def get(self, webhook_id: str) -> WebhookPublic: ...

    def create(
        self, *, url: str, events: Sequence[str] | None = None, description: str | None = None
    ) -> WebhookCreated: ...

    def rotate(
        self, webhook_id: str, *, overlap_seconds: float | None = None
    ) -> WebhookSecretIssued: ...

    def delete(self, webhook_id: str) -> None: ...

    def deliveries(
        self, webhook_id: str, *, status: str | None = None, limit: int = 50
    ) -> builtins.list[WebhookDeliveryPublic]: ...

    def delivery(self, delivery_id: str) -> WebhookDeliveryDetails: ...

    def replay(self, delivery_id: str) -> WebhookDeliveryDetails: ...


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
