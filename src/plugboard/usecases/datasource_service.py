"""Datasources as one usecase service bound to (runtime, acting principal), like `Apps`: each
call owns its transaction, the permission checks, rules and audit entries live in the usecase
functions it calls (usecases/datasources.py, usecases/sync.py), and it returns public records.
The REST routes, the embedded client's ``pb.datasources`` and the CLI call it."""

from __future__ import annotations

import builtins
from collections.abc import Mapping

from plugboard.domain.datasources import Sync
from plugboard.domain.principal import Principal
from plugboard.errors import Conflict
from plugboard.records.datasources import (
    ConfigFieldPublic,
    DatasourcePublic,
    DatasourceRecordPublic,
    RecordPage,
    SyncPublic,
    SyncRequested,
)
from plugboard.store.unit import Unit
from plugboard.usecases import datasources, sync
from plugboard.usecases.datasources import DatasourceView, check_usable
from plugboard.usecases.runtime import Runtime

__all__ = ["Datasources", "sync_record"]


def sync_record(unit: Unit, s: Sync) -> SyncPublic:
    who = unit.users.by_id(s.requested_by).email if s.requested_by else None
    return SyncPublic.of(s, who)


def _record(unit: Unit, found: DatasourceView) -> DatasourcePublic:
    d, module = found.datasource, found.module
    try:
        check_usable(unit, found, None)
        refusal = None
    except Conflict as exc:
        refusal = str(exc.details.get("rule", exc.code))
    last = unit.datasources.latest_sync(d.id)
    return DatasourcePublic(
        id=d.id, app=found.app.link_name, environment=d.environment.value, name=d.name,
        connection=found.connection.link_name, service=found.connection.service_link_name,
        module=module.name, module_name=module.display_name, config=d.config,
        config_fields=[
            ConfigFieldPublic(
                key=f.key, display_name=f.display_name, description=f.description,
                required=f.required, pattern=f.pattern, default=f.default,
            )
            for f in module.config_fields
        ],
        enabled=d.enabled, configurable=refusal is None, refusal=refusal,
        created_at=d.created_at, configured_at=d.configured_at,
        last_completed_at=d.last_completed_at,
        last_sync=sync_record(unit, last) if last is not None else None,
    )  # fmt: skip


class Datasources:
    def __init__(self, runtime: Runtime, actor: Principal, workspace: str | None = None) -> None:
        self._runtime = runtime
        self._actor = actor
        self._workspace = workspace

    def list(self, app: str, *, environment: str | None = None) -> builtins.list[DatasourcePublic]:
        with self._runtime.unit(write=False) as unit:
            found = datasources.list_datasources(
                unit, self._actor, app, environment=environment, workspace=self._workspace
            )
            return [_record(unit, f) for f in found]

    def get(self, app: str, name: str, *, environment: str | None = None) -> DatasourcePublic:
        with self._runtime.unit(write=False) as unit:
            found = datasources.find_datasource(
                unit, self._actor, app, name, environment=environment, workspace=self._workspace
            )
            return _record(unit, found)

    def create(
        self,
        app: str,
        *,
        name: str,
        connection: str,
        module: str,
        environment: str | None = None,
    ) -> DatasourcePublic:
        with self._runtime.unit() as unit:
            created = datasources.create_datasource(
                unit, self._actor, app, name=name, connection=connection, module=module,
                environment=environment, workspace=self._workspace,
            )  # fmt: skip
            return _record(unit, created)

    def configure(
        self,
        app: str,
        name: str,
        values: Mapping[str, str],
        *,
        environment: str | None = None,
    ) -> DatasourcePublic:
        """Configure the datasource, or reconfigure it when it was configured before."""
        with self._runtime.unit() as unit:
            updated = datasources.configure(
                unit, self._actor, app, name, values, environment=environment,
                workspace=self._workspace,
            )  # fmt: skip
            return _record(unit, updated)

    def enable(self, app: str, name: str, *, environment: str | None = None) -> DatasourcePublic:
        return self._set_enabled(app, name, True, environment)

    def disable(self, app: str, name: str, *, environment: str | None = None) -> DatasourcePublic:
        return self._set_enabled(app, name, False, environment)

    def _set_enabled(
        self, app: str, name: str, enabled: bool, environment: str | None
    ) -> DatasourcePublic:
        with self._runtime.unit() as unit:
            updated = datasources.set_enabled(
                unit, self._actor, app, name, enabled, environment=environment,
                workspace=self._workspace,
            )  # fmt: skip
            return _record(unit, updated)

    def delete(self, app: str, name: str, *, environment: str | None = None) -> None:
        with self._runtime.unit() as unit:
            datasources.delete_datasource(
                unit, self._actor, app, name, environment=environment, workspace=self._workspace
            )

    def sync(self, datasource_id: str, *, as_user: str | None = None) -> SyncRequested:
        """Ask for a sync. When one is queued or ongoing already, that one is answered
        (``started`` False) with the time of the last completed one."""
        with self._runtime.unit() as unit:
            asked = sync.request_sync(unit, self._actor, datasource_id, as_user=as_user)
            return SyncRequested(
                sync=sync_record(unit, asked.sync), started=asked.started,
                last_completed_at=asked.last_completed_at,
            )  # fmt: skip

    def get_sync(self, sync_id: str) -> SyncPublic:
        with self._runtime.unit(write=False) as unit:
            _, found = sync.sync_status(unit, self._actor, sync_id)
            return sync_record(unit, found)

    def records(
        self, datasource_id: str, *, after: str | None = None, limit: int = 100
    ) -> RecordPage:
        """One page of the records kept for the datasource, by record id (keyset paging:
        pass the page's ``next_cursor`` as ``after``)."""
        with self._runtime.unit(write=False) as unit:
            _, found = datasources.list_records(
                unit, self._actor, datasource_id, after=after, limit=limit
            )
        items = [
            DatasourceRecordPublic(
                id=r.record_id, data=r.data, created_at=r.created_at, updated_at=r.updated_at
            )
            for r in found
        ]
        more = len(items) == limit
        return RecordPage(items=items, next_cursor=items[-1].id if more and items else None)
