"""An invoke's resolution read in one joined SELECT (usecases/invoke_resolution.py).

One row set answers what resolving a connection needs from the store: the workspace, the
connection of that link name in it, the authorizations that may serve it (for the environments
asked about, shared, the caller's own and the primary one) with their accounts, the workspace's
custom service of the connection's service link name and its OAuth client registration. The
statement is built once with bound parameters, so a miss neither rebuilds nor recompiles it;
each (workspace, connection) row repeats once per candidate authorization (a handful at most:
the unique indexes allow one shared, one per user and one primary per environment).

Nothing secret is opened until asked for: only the chosen authorization's credential
(:meth:`ResolutionRead.authorized_account`) and the client registration's secret
(:meth:`ResolutionRead.service_client`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import Select, Table, and_, bindparam, or_, select

from plugboard.crypto.sealing import Sealer
from plugboard.domain.connections import Connection
from plugboard.domain.custom_services import CustomService
from plugboard.domain.models import Workspace
from plugboard.store.accounts import AccountRepository, AuthorizedAccount, authorization_summary
from plugboard.store.connections import _connection
from plugboard.store.custom_services import CustomServiceRepository
from plugboard.store.identity import _workspace
from plugboard.store.joined_rows import part, prefixed_columns
from plugboard.store.sealed import open_json
from plugboard.store.tables import (
    accounts,
    authorizations,
    connections,
    custom_services,
    service_clients,
    workspaces,
)

__all__ = ["ResolutionRead", "ResolutionReader"]

# Each table's columns under its own prefix: the row carries six tables' ids, names, ...
_PARTS: tuple[tuple[str, Table], ...] = (
    ("ws_", workspaces),
    ("c_", connections),
    ("a_", authorizations),
    ("acc_", accounts),
    ("cs_", custom_services),
    ("sc_", service_clients),
)


def _statement(by_id: bool) -> Select[Any]:
    ws, c, a = workspaces, connections, authorizations
    cs, sc = custom_services, service_clients
    joined = (
        ws.outerjoin(c, and_(c.c.workspace_id == ws.c.id, c.c.link_name == bindparam("link_name")))
        .outerjoin(
            a,
            and_(
                a.c.connection_id == c.c.id,
                a.c.environment.in_(bindparam("environments", expanding=True)),
                # Shared, the primary, or the caller's own (NULL matches none of them).
                or_(
                    a.c.owner_user_id.is_(None),
                    a.c.is_primary.is_(True),
                    a.c.owner_user_id == bindparam("owner_user_id"),
                ),
            ),
        )
        .outerjoin(accounts, accounts.c.id == a.c.account_id)
        .outerjoin(cs, and_(cs.c.workspace_id == ws.c.id, cs.c.link_name == c.c.service_link_name))
        .outerjoin(
            sc,
            and_(sc.c.workspace_id == ws.c.id, sc.c.service_link_name == c.c.service_link_name),
        )
    )
    columns = prefixed_columns(_PARTS)
    where = ws.c.id == bindparam("workspace") if by_id else ws.c.name == bindparam("workspace")
    return select(*columns).select_from(joined).where(where)


_BY_ID = _statement(by_id=True)
_BY_NAME = _statement(by_id=False)


@dataclass(frozen=True, slots=True)
class ResolutionRead:
    """What one read found. ``workspace`` None: no such workspace; ``connection`` None: no
    such connection in it."""

    workspace: Workspace | None
    connection: Connection | None
    # The user whose own authorizations were read (besides the shared and primary ones).
    owner_user_id: str | None
    _rows: Sequence[Any]
    _sealer: Sealer
    _conn: DbConnection

    def authorized_account(
        self, environment: str, owner_user_id: str | None, *, primary: bool = False
    ) -> AuthorizedAccount | None:
        """As :meth:`AccountRepository.authorized_account` answers for these arguments, from
        the rows read (``owner_user_id`` must be None or :attr:`owner_user_id` unless
        ``primary``); the chosen account's credential is opened."""
        for row in self._rows:
            m = row._mapping
            if m["a_id"] is None or m["a_environment"] != environment:
                continue
            if primary:
                if not m["a_is_primary"]:
                    continue
            elif m["a_owner_user_id"] != owner_user_id:
                continue
            account = None
            if m["acc_id"] is not None:
                values = {col.name: m["acc_" + col.name] for col in accounts.c}
                account = AccountRepository(self._conn, self._sealer)._account(values)
            authorization = authorization_summary(
                part(row, "a_", authorizations), account.display_name if account else None
            )
            return AuthorizedAccount(authorization, account)
        return None

    def custom_service(self) -> CustomService | None:
        """The workspace's custom service of the connection's service link name."""
        row = self._rows[0] if self._rows else None
        if row is None or row._mapping["cs_id"] is None:
            return None
        return CustomServiceRepository(self._conn, self._sealer)._service(
            part(row, "cs_", custom_services)
        )

    def service_client(self) -> tuple[str, str | None] | None:
        """(client id, client secret) of the workspace's registration for that service."""
        row = self._rows[0] if self._rows else None
        if row is None or row._mapping["sc_id"] is None:
            return None
        m = row._mapping
        secret = None
        if m["sc_secrets_sealed"] is not None:
            opened = open_json(
                self._sealer, service_clients, "secrets_sealed", m["sc_id"], m["sc_secrets_sealed"]
            )
            secret = opened.get("client_secret")
        return m["sc_client_id"], secret


class ResolutionReader:
    def __init__(self, conn: DbConnection, sealer: Sealer) -> None:
        self._conn = conn
        self._sealer = sealer

    def read(
        self,
        *,
        workspace_id: str | None = None,
        workspace_name: str | None = None,
        link_name: str,
        environments: Sequence[str],
        owner_user_id: str | None,
    ) -> ResolutionRead:
        """The workspace (by id, else by name), its connection ``link_name`` and the
        authorizations of it stored under one of ``environments`` that are shared, primary,
        or ``owner_user_id``'s -- one query."""
        statement = _BY_ID if workspace_id is not None else _BY_NAME
        rows = self._conn.execute(
            statement,
            {
                "workspace": workspace_id if workspace_id is not None else workspace_name,
                "link_name": link_name,
                "environments": list(environments),
                "owner_user_id": owner_user_id,
            },
        ).all()
        if not rows:
            return ResolutionRead(None, None, owner_user_id, (), self._sealer, self._conn)
        first = rows[0]
        workspace = _workspace(part(first, "ws_", workspaces))
        if first._mapping["c_id"] is None:
            return ResolutionRead(workspace, None, owner_user_id, (), self._sealer, self._conn)
        connection = _connection(part(first, "c_", connections))
        return ResolutionRead(workspace, connection, owner_user_id, rows, self._sealer, self._conn)
