"""Custom services: the definition as JSON, its secret fields sealed apart."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from plugboard.crypto.sealing import Sealer
from plugboard.domain.custom_services import CustomService
from plugboard.domain.ids import new_id
from plugboard.domain.service import ANY_HOST, ServiceDefinition, parse_service
from plugboard.errors import AlreadyExists, NotFound
from plugboard.store.sealed import open_json, seal_json
from plugboard.store.tables import custom_services

_COLUMN = "secrets_sealed"
_SECRET_FIELDS = (("oauth2", "client_secret"), ("oauth1", "consumer_secret"))


def _split(definition: ServiceDefinition) -> tuple[dict[str, Any], dict[str, str]]:
    """(definition without secrets, the secrets by `block.field`)."""
    revealed = definition.to_data(reveal_secrets=True)
    secrets: dict[str, str] = {}
    for block, name in _SECRET_FIELDS:
        section = revealed.get(block)
        if isinstance(section, dict) and name in section:
            secrets[f"{block}.{name}"] = section.pop(name)
    return revealed, secrets


class CustomServiceRepository:
    def __init__(self, conn: Connection, sealer: Sealer) -> None:
        self._conn = conn
        self._sealer = sealer

    def add(
        self, workspace_id: str, definition: ServiceDefinition, actor_id: str | None, now: datetime
    ) -> CustomService:
        link_name = definition.link_name
        if self.find(workspace_id, link_name) is not None:
            raise AlreadyExists("custom service", "link_name", link_name)
        row_id = new_id("svc")
        data, secrets = _split(definition)
        try:
            self._conn.execute(
                custom_services.insert().values(
                    id=row_id,
                    workspace_id=workspace_id,
                    link_name=link_name,
                    name=definition.name,
                    auth_type=definition.auth_type.value,
                    definition=data,
                    secrets_sealed=self._seal(row_id, secrets),
                    allow_user_level=definition.allow_user_level,
                    created_by=actor_id,
                    created_at=now,
                    modified_by=actor_id,
                    modified_at=now,
                )
            )
        except IntegrityError:
            raise AlreadyExists("custom service", "link_name", link_name) from None
        return self.get(workspace_id, link_name)

    def replace(
        self,
        service: CustomService,
        definition: ServiceDefinition,
        actor_id: str | None,
        now: datetime,
    ) -> CustomService:
        data, secrets = _split(definition)
        self._conn.execute(
            update(custom_services)
            .where(custom_services.c.id == service.id)
            .values(
                name=definition.name,
                definition=data,
                secrets_sealed=self._seal(service.id, secrets),
                allow_user_level=definition.allow_user_level,
                modified_by=actor_id,
                modified_at=now,
            )
        )
        return self.get(service.workspace_id, service.link_name)

    def delete(self, service: CustomService) -> None:
        self._conn.execute(custom_services.delete().where(custom_services.c.id == service.id))

    def find(self, workspace_id: str, link_name: str) -> CustomService | None:
        row = self._conn.execute(
            select(custom_services).where(
                custom_services.c.workspace_id == workspace_id,
                custom_services.c.link_name == link_name,
            )
        ).first()
        return self._service(row) if row else None

    def get(self, workspace_id: str, link_name: str) -> CustomService:
        found = self.find(workspace_id, link_name)
        if found is None:
            raise NotFound("service", link_name)
        return found

    def page(
        self, workspace_id: str, *, after: str | None = None, limit: int | None = None
    ) -> list[CustomService]:
        """A workspace's custom services by link name: after ``after``, at most ``limit`` (the
        unique (workspace_id, link_name) index serves both)."""
        query = select(custom_services).where(custom_services.c.workspace_id == workspace_id)
        if after is not None:
            query = query.where(custom_services.c.link_name > after)
        rows = self._conn.execute(query.order_by(custom_services.c.link_name).limit(limit))
        return [self._service(r) for r in rows]

    def _seal(self, row_id: str, secrets: dict[str, str]) -> str | None:
        if not secrets:
            return None
        return seal_json(self._sealer, custom_services, _COLUMN, row_id, secrets)

    def _service(self, row: Any) -> CustomService:
        data = dict(row.definition)
        if row.secrets_sealed is not None:
            opened = open_json(self._sealer, custom_services, _COLUMN, row.id, row.secrets_sealed)
            for path, value in opened.items():
                block, name = path.split(".", 1)
                data[block] = {**data.get(block, {}), name: value}
        return CustomService(
            id=row.id,
            workspace_id=row.workspace_id,
            # Validated when written; a later, narrower http allowance must not make it unreadable,
            # nor must a row stored before base_url was required (it gets no credential sent).
            definition=parse_service(data, builtin=False, http_hosts=(ANY_HOST,), stored=True),
            created_by=row.created_by,
            created_at=row.created_at,
            modified_by=row.modified_by,
            modified_at=row.modified_at,
        )
