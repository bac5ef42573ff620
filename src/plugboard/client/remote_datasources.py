"""The remote client's ``datasources``: the REST API's /apps/{app}/datasources, /datasources and
/syncs, decoded into the same records the embedded client returns
(:mod:`plugboard.records.datasources`)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from plugboard.records.datasources import DatasourcePublic, RecordPage, SyncPublic, SyncRequested

if TYPE_CHECKING:
    from plugboard.client.remote import RemoteClient

__all__ = ["RemoteDatasources"]


def _seg(value: str) -> str:
    """One path segment: a datasource's name may hold spaces and slashes."""
    return quote(value, safe="")


def _env(environment: str | None) -> dict[str, Any]:
    return {} if environment is None else {"environment": environment}


class RemoteDatasources:
    def __init__(self, client: RemoteClient) -> None:
        self._c = client

    def _one(self, method: str, path: str, **options: Any) -> DatasourcePublic:
        return DatasourcePublic.model_validate(self._c.request(method, path, **options).json())

    def list(self, app: str, *, environment: str | None = None) -> builtins.list[DatasourcePublic]:
        answer = self._c.request("GET", f"/apps/{_seg(app)}/datasources", params=_env(environment))
        return [DatasourcePublic.model_validate(d) for d in answer.json()]

    def get(self, app: str, name: str, *, environment: str | None = None) -> DatasourcePublic:
        path = f"/apps/{_seg(app)}/datasources/{_seg(name)}"
        return self._one("GET", path, params=_env(environment))

    def create(
        self, app: str, *, name: str, connection: str, module: str, environment: str | None = None
    ) -> DatasourcePublic:
        body = {"name": name, "connection": connection, "module": module}
        path = f"/apps/{_seg(app)}/datasources"
        return self._one("POST", path, json=body, params=_env(environment))

    def configure(
        self, app: str, name: str, values: Mapping[str, str], *, environment: str | None = None
    ) -> DatasourcePublic:
        """Configure the datasource, or reconfigure it when it was configured before."""
        path = f"/apps/{_seg(app)}/datasources/{_seg(name)}/config"
        return self._one("PUT", path, json={"values": dict(values)}, params=_env(environment))

    def enable(self, app: str, name: str, *, environment: str | None = None) -> DatasourcePublic:
        path = f"/apps/{_seg(app)}/datasources/{_seg(name)}/enable"
        return self._one("POST", path, params=_env(environment))

    def disable(self, app: str, name: str, *, environment: str | None = None) -> DatasourcePublic:
        path = f"/apps/{_seg(app)}/datasources/{_seg(name)}/disable"
        return self._one("POST", path, params=_env(environment))

    def delete(self, app: str, name: str, *, environment: str | None = None) -> None:
        path = f"/apps/{_seg(app)}/datasources/{_seg(name)}"
        self._c.request("DELETE", path, params=_env(environment))

    def sync(self, datasource_id: str, *, as_user: str | None = None) -> SyncRequested:
        """Ask for a sync; it runs on the server (poll :meth:`get_sync`)."""
        path = f"/datasources/{_seg(datasource_id)}/syncs"
        answer = self._c.request("POST", path, json={"as_user": as_user})
        return SyncRequested.model_validate(answer.json())

    def get_sync(self, sync_id: str) -> SyncPublic:
        answer = self._c.request("GET", f"/syncs/{_seg(sync_id)}")
        return SyncPublic.model_validate(answer.json())

    def records(
        self, datasource_id: str, *, after: str | None = None, limit: int = 100
    ) -> RecordPage:
        """One page of the records kept, by record id: pass its ``next_cursor`` as ``after``."""
        query: dict[str, Any] = {"limit": limit}
        if after is not None:
            query["cursor"] = after
        path = f"/datasources/{_seg(datasource_id)}/records"
        return RecordPage.model_validate(self._c.request("GET", path, params=query).json())
