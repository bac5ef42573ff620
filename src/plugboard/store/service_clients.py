"""OAuth client registrations (client id, sealed client secret) for built-in services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select, update

from plugboard.crypto.sealing import Sealer
from plugboard.domain.ids import new_id
from plugboard.errors import NotFound
from plugboard.store.sealed import open_json, seal_json
from plugboard.store.tables import service_clients

_COLUMN = "secrets_sealed"


@dataclass(frozen=True, slots=True)
class ServiceClient:
    id: str
    workspace_id: str
    service_link_name: str
    client_id: str
    client_secret: str | None = field(repr=False)
    created_at: datetime
    modified_at: datetime


class ServiceClientRepository:
    def __init__(self, conn: Connection, sealer: Sealer) -> None:
        self._conn = conn
        self._sealer = sealer

    def put(
        self,
        workspace_id: str,
        service_link_name: str,
        client_id: str,
        client_secret: str | None,
        now: datetime,
        created_by: str | None,
    ) -> ServiceClient:
        """Create or replace the registration for one service in one workspace."""
        existing = self.find(workspace_id, service_link_name)
        row_id = existing.id if existing else new_id("scl")
        sealed = (
            seal_json(
                self._sealer, service_clients, _COLUMN, row_id, {"client_secret": client_secret}
            )
            if client_secret is not None
            else None
        )
        if existing is None:
            self._conn.execute(
                service_clients.insert().values(
                    id=row_id,
                    workspace_id=workspace_id,
                    service_link_name=service_link_name,
                    client_id=client_id,
                    secrets_sealed=sealed,
                    created_by=created_by,
                    created_at=now,
                    modified_at=now,
                )
            )
        else:
            self._conn.execute(
                update(service_clients)
                .where(service_clients.c.id == row_id)
                .values(client_id=client_id, secrets_sealed=sealed, modified_at=now)
            )
        return self.get(workspace_id, service_link_name)

    def find(self, workspace_id: str, service_link_name: str) -> ServiceClient | None:
        row = self._conn.execute(
            select(service_clients).where(
                service_clients.c.workspace_id == workspace_id,
                service_clients.c.service_link_name == service_link_name,
            )
        ).first()
        if row is None:
            return None
        secret = None
        if row.secrets_sealed is not None:
            opened = open_json(self._sealer, service_clients, _COLUMN, row.id, row.secrets_sealed)
            secret = opened.get("client_secret")
        return ServiceClient(
            id=row.id,
            workspace_id=row.workspace_id,
            service_link_name=row.service_link_name,
            client_id=row.client_id,
            client_secret=secret,
            created_at=row.created_at,
            modified_at=row.modified_at,
        )

    def get(self, workspace_id: str, service_link_name: str) -> ServiceClient:
        found = self.find(workspace_id, service_link_name)
        if found is None:
            raise NotFound("OAuth client registration", service_link_name)
        return found

    def of_workspace(self, workspace_id: str) -> list[ServiceClient]:
        rows = self._conn.execute(
            select(service_clients.c.service_link_name)
            .where(service_clients.c.workspace_id == workspace_id)
            .order_by(service_clients.c.service_link_name)
        )
        return [self.get(workspace_id, r.service_link_name) for r in rows]
