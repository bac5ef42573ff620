"""Authorization lifecycle queries: listing with the people behind them, revoking, renaming
accounts, moving the primary flag."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)

from plugboard.domain.connections import AuthorizationSummary
from plugboard.domain.models import ALL_ENVIRONMENTS, AuthorizationStatus, Environment, Role
from plugboard.errors import NotFound
from plugboard.store.accounts import authorization_summary
from plugboard.store.tables import accounts, authorizations, memberships, users


@dataclass(frozen=True, slots=True)
class AuthorizationRow:
    """An authorization with its account name and, for user level, its owner."""

    summary: AuthorizationSummary
    owner_email: str | None
    owner_name: str | None
    owner_role: Role | None


_QUERY = (
    select(
        authorizations,
        accounts.c.display_name.label("account_name"),
        users.c.email.label("owner_email"),
        users.c.name.label("owner_name"),
        memberships.c.role.label("owner_role"),
    )
    .outerjoin(accounts, accounts.c.id == authorizations.c.account_id)
    .outerjoin(users, users.c.id == authorizations.c.owner_user_id)
    .outerjoin(
        memberships,
        (memberships.c.user_id == authorizations.c.owner_user_id)
        & (memberships.c.workspace_id == authorizations.c.workspace_id),
    )
)


# The users' rows of a connection with their owner's e-mail, for a page's keys: the inner join
# lets the planner walk the users' e-mail index; memberships only for the role filter (a left join
# on its primary key that PostgreSQL drops when nothing reads it).
_PERSONAL_KEYS = (
    select(authorizations.c.id.label("id"), users.c.email.label("email"))
    .select_from(users)
    .join(authorizations, users.c.id == authorizations.c.owner_user_id)
    .outerjoin(
        memberships,
        (memberships.c.user_id == authorizations.c.owner_user_id)
        & (memberships.c.workspace_id == authorizations.c.workspace_id),
    )
)
# Every environment an authorization is stored under, in the list's order.
_ENVIRONMENTS = sorted([ALL_ENVIRONMENTS, *(e.value for e in Environment)])


class Owners(Enum):
    """Every owner's authorizations, for :meth:`AuthorizationRepository.page`."""

    ANY = "any"


# A connection's list is ordered by (environment, owner e-mail or "", id): the keyset of its pages.
AuthorizationKey = tuple[str, str, str]
_OWNER_EMAIL = func.coalesce(users.c.email, "")


def _after(key: AuthorizationKey) -> ColumnElement[bool]:
    environment, email, authorization_id = key
    env, mail, ident = authorizations.c.environment, _OWNER_EMAIL, authorizations.c.id
    return or_(
        env > environment,
        and_(env == environment, mail > email),
        and_(env == environment, mail == email, ident > authorization_id),
    )


def _filters(
    connection_id: str, role: Role | None, environment: str | None, search: str | None
) -> list[ColumnElement[bool]]:
    found = [authorizations.c.connection_id == connection_id]
    if role is not None:
        found.append(memberships.c.role == role.value)
    if environment is not None:
        found.append(authorizations.c.environment.in_([environment, ALL_ENVIRONMENTS]))
    if search:
        needle = search.lower()  # as SQL lower() folds (casefold would turn ß into ss)
        found.append(
            func.lower(users.c.email).contains(needle, autoescape=True)
            | func.lower(users.c.name).contains(needle, autoescape=True)
        )
    return found


def listing_key(row: AuthorizationRow) -> AuthorizationKey:
    """A row's key in a connection's list: (environment, owner e-mail or "", id)."""
    return (row.summary.environment, row.owner_email or "", row.summary.id)


def _row(r: Any) -> AuthorizationRow:
    return AuthorizationRow(
        authorization_summary(r, r.account_name),
        r.owner_email,
        r.owner_name,
        Role(r.owner_role) if r.owner_role else None,
    )


class AuthorizationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def of_connection(self, connection_id: str) -> list[AuthorizationRow]:
        rows = self._conn.execute(
            _QUERY.where(authorizations.c.connection_id == connection_id).order_by(
                authorizations.c.environment, users.c.email, authorizations.c.created_at
            )
        )
        return [_row(r) for r in rows]

    def page(
        self,
        connection_id: str,
        *,
        owner: str | None | Owners = Owners.ANY,
        role: Role | None = None,
        environment: str | None = None,
        search: str | None = None,
        after: AuthorizationKey | None = None,
        limit: int | None = None,
    ) -> list[AuthorizationRow]:
        """A connection's authorizations in :func:`listing_key` order, filtered in SQL:
        ``owner`` (``Owners.ANY``: anyone's; ``None``: shared ones; a user id: that user's), the
        owner's ``role``, ``environment`` (its own and those for all environments), ``search``
        (case-insensitive text in the owner's e-mail or name), keys after ``after``, at most
        ``limit``."""
        filters = _filters(connection_id, role, environment, search)
        if owner is not Owners.ANY:
            # One owner's rows (or the shared ones): at most one per environment, sorted as is.
            mine = (
                authorizations.c.owner_user_id.is_(None)
                if owner is None
                else authorizations.c.owner_user_id == owner
            )
            query = _QUERY.where(mine, *filters)
            if after is not None:
                query = query.where(_after(after))
            query = query.order_by(authorizations.c.environment, _OWNER_EMAIL, authorizations.c.id)
            return [_row(r) for r in self._conn.execute(query.limit(limit))]
        # Everyone's: the e-mail is the joined users table's, so no index serves the whole order.
        # Each environment is read in two parts an index serves: the shared rows (e-mail "", by
        # id), then the users' rows walked in e-mail order (the users' e-mail index, each probing
        # (connection_id, environment, owner_user_id)) and stopped at the page's end, so a page
        # reads about `limit` rows however many users the connection has.
        found: list[AuthorizationRow] = []
        for env in _ENVIRONMENTS:
            if limit is not None and len(found) >= limit:
                break
            if after is not None and env < after[0]:
                continue
            if environment is not None and env not in (environment, ALL_ENVIRONMENTS):
                continue
            left = None if limit is None else limit - len(found)
            shared = _QUERY.where(
                authorizations.c.environment == env,
                authorizations.c.owner_user_id.is_(None),
                *filters,
            )
            personal = _PERSONAL_KEYS.where(authorizations.c.environment == env, *filters)
            read_shared = True
            if after is not None and env == after[0]:
                _, email, authorization_id = after
                # Shared rows sort first (e-mail ""): past them once the cursor is a user's.
                read_shared = email == ""
                shared = shared.where(authorizations.c.id > authorization_id)
                personal = personal.where(
                    or_(
                        users.c.email > email,
                        and_(users.c.email == email, authorizations.c.id > authorization_id),
                    )
                )
            rows: list[Any] = (
                list(self._conn.execute(shared.order_by(authorizations.c.id).limit(left)))
                if read_shared
                else []
            )
            if left is None or len(rows) < left:
                # The page's keys first, then the account and membership of those rows only:
                # joined before the limit, they were read for every row of the connection.
                keys = (
                    personal.order_by(users.c.email, authorizations.c.id)
                    .limit(None if left is None else left - len(rows))
                    .subquery()
                )
                rows += self._conn.execute(
                    _QUERY.join(keys, keys.c.id == authorizations.c.id).order_by(
                        keys.c.email, keys.c.id
                    )
                )
            found += [_row(r) for r in rows]
        return found

    def serving(
        self,
        connection_ids: Collection[str],
        *,
        user_level: Collection[str] = frozenset(),
        viewer: str | None = None,
    ) -> dict[str, list[AuthorizationRow]]:
        """What a viewer's panel needs of these connections, by connection: of those in
        ``user_level`` the ``viewer``'s rows, of the others the shared ones, and the primary rows
        of all; not every user's rows. Two queries, each served by an index ((connection_id,
        owner_user_id) and the partial one on the primary flag); one with OR read every row."""
        ids = list(connection_ids)
        found: dict[str, dict[str, Any]] = {i: {} for i in ids}
        if not ids:
            return {}
        personal = [i for i in ids if i in user_level]
        shared = [i for i in ids if i not in user_level]
        mine = (
            authorizations.c.owner_user_id.is_(None)
            if viewer is None
            else authorizations.c.owner_user_id == viewer
        )
        own = _QUERY.where(
            or_(
                and_(authorizations.c.connection_id.in_(personal), mine),
                and_(
                    authorizations.c.connection_id.in_(shared),
                    authorizations.c.owner_user_id.is_(None),
                ),
            )
        )
        primaries = _QUERY.where(
            authorizations.c.connection_id.in_(ids), authorizations.c.is_primary
        )
        for query in (own, primaries):
            for r in self._conn.execute(query):
                found[r.connection_id].setdefault(r.id, r)
        return {i: [_row(rows[k]) for k in sorted(rows)] for i, rows in found.items()}

    def count(self, connection_id: str, *, owner: str | None | Owners = Owners.ANY) -> int:
        """How many authorizations :meth:`page` lists for ``owner`` (an index-only count)."""
        query = (
            select(func.count())
            .select_from(authorizations)
            .where(authorizations.c.connection_id == connection_id)
        )
        if owner is None:
            query = query.where(authorizations.c.owner_user_id.is_(None))
        elif owner is not Owners.ANY:
            query = query.where(authorizations.c.owner_user_id == owner)
        return int(self._conn.execute(query).scalar_one())

    def statuses_of(
        self,
        connection_ids: Iterable[str],
        *,
        user_level: Collection[str] = frozenset(),
        viewer: str | None = None,
    ) -> dict[str, list[tuple[str | None, AuthorizationStatus]]]:
        """(owner, status) of the authorizations of these connections, in one query; of those
        in ``user_level``, only the ``viewer``'s (all a user-level connection's status needs),
        so a page of connections reads no more rows as their users grow."""
        ids = list(connection_ids)
        found: dict[str, list[tuple[str | None, AuthorizationStatus]]] = {i: [] for i in ids}
        if not ids:
            return found
        others = [i for i in ids if i not in user_level]
        personal = [i for i in ids if i in user_level]
        mine = (
            authorizations.c.owner_user_id.is_(None)
            if viewer is None
            else authorizations.c.owner_user_id == viewer
        )
        rows = self._conn.execute(
            select(
                authorizations.c.connection_id,
                authorizations.c.owner_user_id,
                authorizations.c.status,
            ).where(
                or_(
                    authorizations.c.connection_id.in_(others),
                    and_(authorizations.c.connection_id.in_(personal), mine),
                )
            )
        )
        for connection_id, owner, status in rows:
            found[connection_id].append((owner, AuthorizationStatus(status)))
        return found

    def get(
        self, connection_id: str, environment: str, owner_user_id: str | None
    ) -> AuthorizationRow:
        query = _QUERY.where(
            authorizations.c.connection_id == connection_id,
            authorizations.c.environment == environment,
        )
        if owner_user_id is None:
            query = query.where(authorizations.c.owner_user_id.is_(None))
        else:
            query = query.where(authorizations.c.owner_user_id == owner_user_id)
        row = self._conn.execute(query).first()
        if row is None:
            raise NotFound("authorization", environment)
        return _row(row)

    def users_of_account(self, account_id: str) -> int:
        query = (
            select(func.count())
            .select_from(authorizations)
            .where(authorizations.c.account_id == account_id)
        )
        return int(self._conn.execute(query).scalar_one())

    def set_status(
        self,
        authorization_id: str,
        status: AuthorizationStatus,
        detail: str | None,
        now: datetime,
        *,
        unlink_account: bool = False,
    ) -> None:
        values: dict[str, Any] = {
            "status": status.value,
            "status_detail": detail,
            "updated_at": now,
        }
        if unlink_account:
            values.update(account_id=None, is_primary=False)
        self._conn.execute(
            update(authorizations).where(authorizations.c.id == authorization_id).values(values)
        )

    def delete_account(self, account_id: str) -> None:
        self._conn.execute(delete(accounts).where(accounts.c.id == account_id))

    def delete_account_if_unused(self, account_id: str) -> bool:
        if self.users_of_account(account_id):
            return False
        self.delete_account(account_id)
        return True

    def rename_account(self, account_id: str, name: str, now: datetime) -> None:
        self._conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(display_name=name, updated_at=now)
        )

    def accounts_of(self, connection_id: str, owner_user_id: str | None) -> list[tuple[str, str]]:
        """(id, display name) of the accounts linked to a connection (for one owner)."""
        query = select(accounts.c.id, accounts.c.display_name).where(
            accounts.c.connection_id == connection_id
        )
        if owner_user_id is None:
            query = query.where(accounts.c.owner_user_id.is_(None))
        else:
            query = query.where(accounts.c.owner_user_id == owner_user_id)
        return [
            (r.id, r.display_name)
            for r in self._conn.execute(query.order_by(accounts.c.created_at))
        ]

    def move_primary(
        self, connection_id: str, environment: str, authorization_id: str, now: datetime
    ) -> None:
        """Clear the old primary first: the partial unique index allows one per environment."""
        self._conn.execute(
            update(authorizations)
            .where(
                authorizations.c.connection_id == connection_id,
                authorizations.c.environment == environment,
                authorizations.c.is_primary.is_(True),
            )
            .values(is_primary=False, updated_at=now)
        )
        self._conn.execute(
            update(authorizations)
            .where(authorizations.c.id == authorization_id)
            .values(is_primary=True, updated_at=now)
        )
