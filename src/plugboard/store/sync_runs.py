"""What a claimed sync's run needs, read in one joined SELECT in the transaction that claims it
(usecases/sync.py): the datasource, its app, connection and workspace, the workspace's custom
service of the connection's service link name (None: a built-in service's, or none), the
e-mail of the user the sync runs for and the digests of the pages the datasource's last
completed sync received (store/datasource_pages.py). On PostgreSQL every statement is a round
trip, and a sync of a few pages notices six of them before its first page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import Select, Table, and_, bindparam, func, select

from plugboard.crypto.sealing import Sealer
from plugboard.domain.apps import App
from plugboard.domain.connections import Connection
from plugboard.domain.custom_services import CustomService
from plugboard.domain.datasources import Datasource
from plugboard.domain.models import Workspace
from plugboard.store.apps import _app
from plugboard.store.connections import _connection
from plugboard.store.custom_services import CustomServiceRepository
from plugboard.store.datasources import _datasource
from plugboard.store.identity import _workspace
from plugboard.store.joined_rows import part, prefixed_columns
from plugboard.store.tables import (
    apps,
    connections,
    custom_services,
    datasource_pages,
    datasources,
    users,
    workspaces,
)

__all__ = ["SyncRunRead", "SyncRunReader"]

_PARTS: tuple[tuple[str, Table], ...] = (
    ("d_", datasources),
    ("app_", apps),
    ("c_", connections),
    ("ws_", workspaces),
    ("cs_", custom_services),
)


def _statement() -> Select[Any]:
    d, a, c, ws, cs = datasources, apps, connections, workspaces, custom_services
    joined = (
        d.join(a, a.c.id == d.c.app_id)
        .join(c, c.c.id == d.c.connection_id)
        .join(ws, ws.c.id == a.c.workspace_id)
        .outerjoin(cs, and_(cs.c.workspace_id == ws.c.id, cs.c.link_name == c.c.service_link_name))
        .outerjoin(users, users.c.id == bindparam("user_id"))
    )
    columns = prefixed_columns(_PARTS)
    digests = (
        select(func.aggregate_strings(datasource_pages.c.digest, ","))  # hex: no comma
        .where(datasource_pages.c.datasource_id == d.c.id)
        .scalar_subquery()
    )
    return (
        select(*columns, users.c.email.label("u_email"), digests.label("page_digests"))
        .select_from(joined)
        .where(d.c.id == bindparam("datasource_id"))
    )


_STATEMENT = _statement()  # built once: a run neither rebuilds nor recompiles it


@dataclass(frozen=True, slots=True)
class SyncRunRead:
    datasource: Datasource
    app: App
    connection: Connection
    workspace: Workspace
    custom_service: CustomService | None
    user_email: str | None  # None: no user asked, or no such user
    page_digests: set[str]


class SyncRunReader:
    def __init__(self, conn: DbConnection, sealer: Sealer) -> None:
        self._conn = conn
        self._sealer = sealer

    def read(self, datasource_id: str, user_id: str | None) -> SyncRunRead | None:
        """None when the datasource (or its app, connection or workspace) is gone."""
        row = self._conn.execute(
            _STATEMENT, {"datasource_id": datasource_id, "user_id": user_id}
        ).first()
        if row is None:
            return None
        m = row._mapping
        custom = None
        if m["cs_id"] is not None:
            services = CustomServiceRepository(self._conn, self._sealer)
            custom = services._service(part(row, "cs_", custom_services))
        return SyncRunRead(
            datasource=_datasource(part(row, "d_", datasources)),
            app=_app(part(row, "app_", apps)),
            connection=_connection(part(row, "c_", connections)),
            workspace=_workspace(part(row, "ws_", workspaces)),
            custom_service=custom,
            user_email=m["u_email"],
            page_digests=set(m["page_digests"].split(",")) if m["page_digests"] else set(),
        )
