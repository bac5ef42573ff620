"""Linked accounts (the sealed credential) and the authorizations that point at them (SPEC §5).

An account row holds one credential, sealed in ``credential_sealed`` and bound to the row id; an
authorization row says which (connection, environment[, user]) uses which account. A refresh
rewrites the account, so every authorization sharing it sees the new token at once.

:meth:`AccountRepository.lock` is the cross-process half of refresh single-flight: on PostgreSQL
``SELECT … FOR UPDATE`` on the account row (with ``lock_timeout`` set for this transaction), on
SQLite nothing more than the write transaction the caller opened, since ``BEGIN IMMEDIATE``
already holds the database's write lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text, update

from plugboard.crypto.sealing import Sealer
from plugboard.domain.connections import AuthorizationSummary
from plugboard.domain.ids import new_id
from plugboard.domain.lifecycle import transition
from plugboard.domain.models import AuthorizationStatus
from plugboard.errors import NotFound
from plugboard.store.sealed import open_json, seal_json
from plugboard.store.tables import accounts, authorizations

__all__ = ["Account", "AccountRepository", "AuthorizedAccount"]

_COLUMN = "credential_sealed"


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    workspace_id: str
    connection_id: str
    owner_user_id: str | None
    display_name: str
    credential: dict[str, Any] = field(repr=False)
    token_expires_at: datetime | None
    refreshed_at: datetime | None
    refresh_failed_at: datetime | None
    refresh_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AuthorizedAccount:
    """An authorization and the account it points at (None once revoked)."""

    authorization: AuthorizationSummary
    account: Account | None


def authorization_summary(row: Any, account_name: str | None) -> AuthorizationSummary:
    """An authorizations row (plus its account's name) as the domain sees it."""
    return AuthorizationSummary(
        id=row.id,
        connection_id=row.connection_id,
        environment=row.environment,
        owner_user_id=row.owner_user_id,
        account_id=row.account_id,
        account_name=account_name,
        status=AuthorizationStatus(row.status),
        status_detail=row.status_detail,
        is_primary=row.is_primary,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_ACCOUNT_COLUMNS = [c.label(f"acc_{c.name}") for c in accounts.c]


class AccountRepository:
    def __init__(self, conn: Connection, sealer: Sealer) -> None:
        self._conn = conn
        self._sealer = sealer

    # -- accounts ------------------------------------------------------------------------------

    def create(
        self,
        *,
        workspace_id: str,
        connection_id: str,
        owner_user_id: str | None,
        display_name: str,
        credential: dict[str, Any],
        token_expires_at: datetime | None,
        created_by: str | None,
        now: datetime,
    ) -> Account:
        row_id = new_id("acc")
        self._conn.execute(
            accounts.insert().values(
                id=row_id,
                workspace_id=workspace_id,
                connection_id=connection_id,
                owner_user_id=owner_user_id,
                display_name=display_name,
                credential_sealed=self._seal(row_id, credential),
                token_expires_at=token_expires_at,
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
        )
        return self.get(row_id)

    def find(self, account_id: str) -> Account | None:
        row = self._conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
        return self._account(row) if row else None

    def get(self, account_id: str) -> Account:
        found = self.find(account_id)
        if found is None:
            raise NotFound("account", account_id)
        return found

    def count_of_connection(self, connection_id: str) -> int:
        rows = self._conn.execute(
            select(accounts.c.id).where(accounts.c.connection_id == connection_id)
        ).all()
        return len(rows)

    def lock(self, account_id: str, *, lock_timeout_seconds: float) -> Account | None:
        """The account, locked until the transaction ends; None when it no longer exists.

        Must run in a write transaction. Waits at most ``lock_timeout_seconds`` for another
        holder (PostgreSQL raises a lock-timeout error after that; SQLite's busy timeout applies).
        """
        if self._conn.dialect.name == "postgresql":
            millis = max(1, int(lock_timeout_seconds * 1000))
            self._conn.execute(text(f"SET LOCAL lock_timeout = {millis}"))
        row = self._conn.execute(
            select(accounts).where(accounts.c.id == account_id).with_for_update()
        ).first()
        return self._account(row) if row else None

    def save_refreshed(
        self,
        account_id: str,
        credential: dict[str, Any],
        token_expires_at: datetime | None,
        now: datetime,
    ) -> Account:
        """Store a refreshed credential (access and refresh token together) and clear any
        earlier refresh failure."""
        self._conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(
                credential_sealed=self._seal(account_id, credential),
                token_expires_at=token_expires_at,
                refreshed_at=now,
                refresh_failed_at=None,
                refresh_error=None,
                updated_at=now,
            )
        )
        return self.get(account_id)

    def record_refresh_failure(self, account_id: str, error: str, now: datetime) -> None:
        self._conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(refresh_failed_at=now, refresh_error=error[:500], updated_at=now)
        )

    # -- authorizations ------------------------------------------------------------------------

    def put_authorization(
        self,
        *,
        workspace_id: str,
        connection_id: str,
        environment: str,
        owner_user_id: str | None,
        account_id: str,
        authorized_by: str | None,
        now: datetime,
        is_primary: bool = False,
    ) -> AuthorizationSummary:
        """Point the (connection, environment, owner) authorization at ``account_id``, creating
        it if needed, and mark it connected."""
        existing = self.find_authorization(connection_id, environment, owner_user_id)
        if existing is None:
            auth_id = new_id("authz")
            self._conn.execute(
                authorizations.insert().values(
                    id=auth_id,
                    workspace_id=workspace_id,
                    connection_id=connection_id,
                    environment=environment,
                    owner_user_id=owner_user_id,
                    account_id=account_id,
                    status=AuthorizationStatus.CONNECTED.value,
                    is_primary=is_primary,
                    authorized_by=authorized_by,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            auth_id = existing.id
            self._conn.execute(
                update(authorizations)
                .where(authorizations.c.id == auth_id)
                .values(
                    account_id=account_id,
                    status=AuthorizationStatus.CONNECTED.value,
                    status_detail=None,
                    is_primary=existing.is_primary or is_primary,
                    authorized_by=authorized_by,
                    updated_at=now,
                )
            )
        found = self.find_authorization(connection_id, environment, owner_user_id)
        assert found is not None
        return found

    def mark_failed(
        self,
        *,
        workspace_id: str,
        connection_id: str,
        environment: str,
        owner_user_id: str | None,
        detail: str,
        attempted_by: str | None,
        now: datetime,
    ) -> AuthorizationSummary | None:
        """The last attempt to link an account to (connection, environment, owner) failed:
        create the authorization as ``failed``, or mark it so -- unless it is connected, whose
        working account a failed switch does not take away (then None)."""
        existing = self.find_authorization(connection_id, environment, owner_user_id)
        if existing is None:
            self._conn.execute(
                authorizations.insert().values(
                    id=new_id("authz"),
                    workspace_id=workspace_id,
                    connection_id=connection_id,
                    environment=environment,
                    owner_user_id=owner_user_id,
                    account_id=None,
                    status=AuthorizationStatus.FAILED.value,
                    status_detail=detail[:500],
                    is_primary=False,
                    authorized_by=attempted_by,
                    created_at=now,
                    updated_at=now,
                )
            )
        elif existing.status is AuthorizationStatus.CONNECTED:
            return None
        else:
            transition(existing.status, AuthorizationStatus.FAILED)
            self._conn.execute(
                update(authorizations)
                .where(authorizations.c.id == existing.id)
                .values(
                    status=AuthorizationStatus.FAILED.value,
                    status_detail=detail[:500],
                    updated_at=now,
                )
            )
        return self.find_authorization(connection_id, environment, owner_user_id)

    def find_authorization(
        self, connection_id: str, environment: str, owner_user_id: str | None
    ) -> AuthorizationSummary | None:
        found = self.authorized_account(connection_id, environment, owner_user_id, open_it=False)
        return found.authorization if found else None

    def primary_authorization(
        self, connection_id: str, environment: str
    ) -> AuthorizationSummary | None:
        found = self.authorized_account(
            connection_id, environment, None, primary=True, open_it=False
        )
        return found.authorization if found else None

    def authorized_account(
        self,
        connection_id: str,
        environment: str,
        owner_user_id: str | None,
        *,
        primary: bool = False,
        open_it: bool = True,
    ) -> AuthorizedAccount | None:
        """The authorization for (connection, environment, owner) -- or, with ``primary``, the
        primary one -- and its account, in one query."""
        query = (
            select(authorizations, *_ACCOUNT_COLUMNS)
            .outerjoin(accounts, accounts.c.id == authorizations.c.account_id)
            .where(
                authorizations.c.connection_id == connection_id,
                authorizations.c.environment == environment,
            )
        )
        if primary:
            query = query.where(authorizations.c.is_primary.is_(True))
        elif owner_user_id is None:
            query = query.where(authorizations.c.owner_user_id.is_(None))
        else:
            query = query.where(authorizations.c.owner_user_id == owner_user_id)
        row = self._conn.execute(query).first()
        if row is None:
            return None
        account = None
        if row.acc_id is not None:
            account = self._account(
                {c.name: getattr(row, f"acc_{c.name}") for c in accounts.c}, open_it=open_it
            )
        return AuthorizedAccount(
            authorization_summary(row, account.display_name if account else None), account
        )

    def mark_authorizations_of(
        self, account_id: str, status: AuthorizationStatus, detail: str, now: datetime
    ) -> int:
        """Set the status of every authorization using the account (a refresh token the
        provider rejected is dead for all of them)."""
        result = self._conn.execute(
            update(authorizations)
            .where(authorizations.c.account_id == account_id)
            .values(status=status.value, status_detail=detail[:500], updated_at=now)
        )
        return int(result.rowcount)

    def _seal(self, row_id: str, credential: dict[str, Any]) -> str:
        return seal_json(self._sealer, accounts, _COLUMN, row_id, credential)

    # -- rows ----------------------------------------------------------------------------------

    def _account(self, row: Any, *, open_it: bool = True) -> Account:
        values = row if isinstance(row, dict) else row._mapping
        credential: dict[str, Any] = {}
        if open_it:
            credential = open_json(
                self._sealer, accounts, _COLUMN, values["id"], values["credential_sealed"]
            )
        return Account(
            id=values["id"],
            workspace_id=values["workspace_id"],
            connection_id=values["connection_id"],
            owner_user_id=values["owner_user_id"],
            display_name=values["display_name"],
            credential=credential,
            token_expires_at=values["token_expires_at"],
            refreshed_at=values["refreshed_at"],
            refresh_failed_at=values["refresh_failed_at"],
            refresh_error=values["refresh_error"],
            created_at=values["created_at"],
            updated_at=values["updated_at"],
        )
