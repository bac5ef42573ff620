"""Workspaces, users, memberships and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from plugboard.domain.ids import new_id
from plugboard.domain.models import ApiToken, Membership, Role, User, Workspace, WorkspaceKind
from plugboard.errors import AlreadyExists, NotFound
from plugboard.store.tables import api_tokens, app_users, memberships, users, workspaces


def _workspace(row: Any) -> Workspace:
    return Workspace(
        id=row.id, name=row.name, kind=WorkspaceKind(row.kind), created_at=row.created_at
    )


def _user(row: Any) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        created_at=row.created_at,
        has_password=row.password_hash is not None,
    )


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=row.id,
        workspace_id=row.workspace_id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        acts_for_users=row.acts_for_users,
    )


class WorkspaceRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, name: str, kind: WorkspaceKind, now: datetime) -> Workspace:
        if self.find(name) is not None:
            raise AlreadyExists("workspace", "name", name)
        ws = Workspace(id=new_id("ws"), name=name, kind=kind, created_at=now)
        try:
            self._conn.execute(
                workspaces.insert().values(id=ws.id, name=name, kind=kind.value, created_at=now)
            )
        except IntegrityError:
            raise AlreadyExists("workspace", "name", name) from None
        return ws

    def find(self, name: str) -> Workspace | None:
        row = self._conn.execute(select(workspaces).where(workspaces.c.name == name)).first()
        return _workspace(row) if row else None

    def get(self, name: str) -> Workspace:
        ws = self.find(name)
        if ws is None:
            raise NotFound("workspace", name)
        return ws

    def by_id(self, workspace_id: str) -> Workspace:
        row = self._conn.execute(select(workspaces).where(workspaces.c.id == workspace_id)).first()
        if row is None:
            raise NotFound("workspace", workspace_id)
        return _workspace(row)

    def all(self) -> list[Workspace]:
        rows = self._conn.execute(select(workspaces).order_by(workspaces.c.name))
        return [_workspace(r) for r in rows]

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(workspaces)).scalar_one())


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, email: str, name: str, password_hash: str | None, now: datetime) -> User:
        if self.find(email) is not None:
            raise AlreadyExists("user", "email", email)
        user = User(
            id=new_id("usr"),
            email=email,
            name=name,
            created_at=now,
            has_password=password_hash is not None,
        )
        try:
            self._conn.execute(
                users.insert().values(
                    id=user.id, email=email, name=name, password_hash=password_hash, created_at=now
                )
            )
        except IntegrityError:
            raise AlreadyExists("user", "email", email) from None
        return user

    def find(self, email: str) -> User | None:
        row = self._conn.execute(select(users).where(users.c.email == email)).first()
        return _user(row) if row else None

    def get(self, email: str) -> User:
        user = self.find(email)
        if user is None:
            raise NotFound("user", email)
        return user

    def by_id(self, user_id: str) -> User:
        row = self._conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise NotFound("user", user_id)
        return _user(row)

    def password_hash(self, email: str) -> str | None:
        row = self._conn.execute(
            select(users.c.password_hash).where(users.c.email == email)
        ).first()
        return row.password_hash if row else None

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._conn.execute(
            update(users).where(users.c.id == user_id).values(password_hash=password_hash)
        )


_MEMBERSHIP_QUERY = (
    select(
        memberships.c.role,
        workspaces.c.id.label("ws_id"),
        workspaces.c.name.label("ws_name"),
        workspaces.c.kind.label("ws_kind"),
        workspaces.c.created_at.label("ws_at"),
        users.c.id.label("u_id"),
        users.c.email.label("u_email"),
        users.c.name.label("u_name"),
        users.c.created_at.label("u_at"),
        users.c.password_hash.is_not(None).label("u_has_password"),
    )
    .join(workspaces, workspaces.c.id == memberships.c.workspace_id)
    .join(users, users.c.id == memberships.c.user_id)
)


class MembershipRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, workspace: Workspace, user: User, role: Role, now: datetime) -> Membership:
        if self.find(workspace.id, user.id) is not None:
            raise AlreadyExists(
                "member",
                "email",
                user.email,
                f"email: {user.email} is already a member of workspace {workspace.name}",
            )
        self._conn.execute(
            memberships.insert().values(
                workspace_id=workspace.id, user_id=user.id, role=role.value, created_at=now
            )
        )
        return Membership(workspace=workspace, user=user, role=role)

    def find(self, workspace_id: str, user_id: str) -> Membership | None:
        row = self._conn.execute(
            _MEMBERSHIP_QUERY.where(
                memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id
            )
        ).first()
        return self._membership(row) if row else None

    def set_role(self, workspace_id: str, user_id: str, role: Role) -> None:
        self._conn.execute(
            update(memberships)
            .where(memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id)
            .values(role=role.value)
        )

    def of_workspace(
        self,
        workspace_id: str,
        *,
        role: str | None = None,
        search: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Membership]:
        """The members by e-mail: with ``role``, with ``search`` in the e-mail or
        (case-insensitive) the name, e-mails after ``after``, at most ``limit``."""
        query = _MEMBERSHIP_QUERY.where(memberships.c.workspace_id == workspace_id)
        if role is not None:
            query = query.where(memberships.c.role == role)
        if search:
            needle = search.lower()  # as SQL lower() folds (casefold would turn ß into ss)
            query = query.where(
                users.c.email.contains(needle, autoescape=True)
                | func.lower(users.c.name).contains(needle, autoescape=True)
            )
        if after is not None:
            query = query.where(users.c.email > after)
        rows = self._conn.execute(query.order_by(users.c.email).limit(limit))
        return [self._membership(r) for r in rows]

    def granted(
        self, app_id: str, workspace_id: str, *, after: str | None = None, limit: int | None = None
    ) -> list[tuple[Membership, datetime]]:
        """The members an app is granted to, by e-mail, with when: e-mails after ``after``, at
        most ``limit``, in one query (the grants' primary key and the users' e-mail index)."""
        query = (
            _MEMBERSHIP_QUERY.add_columns(app_users.c.created_at.label("granted_at"))
            .join(
                app_users,
                and_(app_users.c.user_id == memberships.c.user_id, app_users.c.app_id == app_id),
            )
            .where(memberships.c.workspace_id == workspace_id)
        )
        if after is not None:
            query = query.where(users.c.email > after)
        rows = self._conn.execute(query.order_by(users.c.email).limit(limit))
        return [(self._membership(r), r.granted_at) for r in rows]

    def of_user(self, user_id: str) -> list[Membership]:
        rows = self._conn.execute(
            _MEMBERSHIP_QUERY.where(memberships.c.user_id == user_id).order_by(workspaces.c.name)
        )
        return [self._membership(r) for r in rows]

    def count_with_role(self, role: Role) -> int:
        query = select(func.count()).select_from(memberships).where(memberships.c.role == role)
        return int(self._conn.execute(query).scalar_one())

    @staticmethod
    def _membership(row: Any) -> Membership:
        workspace = Workspace(
            id=row.ws_id, name=row.ws_name, kind=WorkspaceKind(row.ws_kind), created_at=row.ws_at
        )
        user = User(
            id=row.u_id,
            email=row.u_email,
            name=row.u_name,
            created_at=row.u_at,
            has_password=row.u_has_password,
        )
        return Membership(workspace=workspace, user=user, role=Role(row.role))


class TokenRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        workspace_id: str,
        user_id: str,
        name: str,
        token_hash: str,
        prefix: str,
        acts_for_users: bool,
        now: datetime,
    ) -> ApiToken:
        token = ApiToken(
            id=new_id("tok"),
            workspace_id=workspace_id,
            user_id=user_id,
            name=name,
            prefix=prefix,
            created_at=now,
            acts_for_users=acts_for_users,
        )
        self._conn.execute(
            api_tokens.insert().values(
                id=token.id,
                workspace_id=workspace_id,
                user_id=user_id,
                name=name,
                token_hash=token_hash,
                prefix=prefix,
                acts_for_users=acts_for_users,
                created_at=now,
            )
        )
        return token

    def by_hash(self, token_hash: str) -> ApiToken | None:
        row = self._conn.execute(
            select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        ).first()
        return _token(row) if row else None

    def by_id(self, token_id: str) -> ApiToken:
        row = self._conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None:
            raise NotFound("token", token_id)
        return _token(row)

    def of_workspace(
        self,
        workspace_id: str,
        user_id: str | None = None,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[ApiToken]:
        """Oldest first; ``after`` is the (created_at, id) of the last token already seen."""
        query = select(api_tokens).where(api_tokens.c.workspace_id == workspace_id)
        if user_id is not None:
            query = query.where(api_tokens.c.user_id == user_id)
        if after is not None:
            at, token_id = after
            query = query.where(
                or_(
                    api_tokens.c.created_at > at,
                    and_(api_tokens.c.created_at == at, api_tokens.c.id > token_id),
                )
            )
        query = query.order_by(api_tokens.c.created_at, api_tokens.c.id).limit(limit)
        return [_token(r) for r in self._conn.execute(query)]

    def revoke(self, token_id: str, now: datetime) -> None:
        self._conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def touch(self, token_id: str, now: datetime) -> None:
        self._conn.execute(
            update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
        )
