"""The client protocols of the app platform: apps, datasources and webhooks (SPEC §6, §8, §11),
which both clients implement as ``pb.apps``, ``pb.datasources`` and ``pb.webhooks``. Exported
from ``plugboard.client.protocol`` with the others."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Protocol

from plugboard.records import ConnectionPublic
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

__all__ = ["AppsAPI", "DatasourcesAPI", "WebhooksAPI"]


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
