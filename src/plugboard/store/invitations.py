"""Pending invitations of existing accounts to a workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from plugboard.domain.ids import new_id
from plugboard.domain.models import Invitation, Role
from plugboard.store.tables import invitations, workspaces

_QUERY = select(invitations, workspaces.c.name.label("workspace_name")).join(
    workspaces, workspaces.c.id == invitations.c.workspace_id
)


class InvitationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def invite(
        self, workspace_id: str, user_id: str, role: Role, invited_by: str, now: datetime
    ) -> str:
        """The pending invitation's id; inviting again replaces its role and inviter."""
        found = self._conn.execute(
            select(invitations.c.id).where(
                invitations.c.workspace_id == workspace_id, invitations.c.user_id == user_id
            )
        ).first()
        if found is not None:
            self._conn.execute(
                update(invitations)
                .where(invitations.c.id == found.id)
                .values(role=role.value, invited_by=invited_by, created_at=now)
            )
            return str(found.id)
        invitation_id = new_id("inv")
        self._conn.execute(
            invitations.insert().values(
                id=invitation_id, workspace_id=workspace_id, user_id=user_id, role=role.value,
                invited_by=invited_by, created_at=now,
            )
        )  # fmt: skip
        return invitation_id

    def of_user(self, user_id: str) -> list[Invitation]:
        rows = self._conn.execute(
            _QUERY.where(invitations.c.user_id == user_id).order_by(
                invitations.c.created_at, invitations.c.id
            )
        )
        return [self._invitation(r) for r in rows]

    def find(self, invitation_id: str) -> Invitation | None:
        row = self._conn.execute(_QUERY.where(invitations.c.id == invitation_id)).first()
        return self._invitation(row) if row else None

    def remove(self, invitation_id: str) -> None:
        self._conn.execute(delete(invitations).where(invitations.c.id == invitation_id))

    @staticmethod
    def _invitation(row: Any) -> Invitation:
        return Invitation(
            id=row.id, workspace_id=row.workspace_id, workspace_name=row.workspace_name,
            user_id=row.user_id, role=Role(row.role), invited_by=row.invited_by,
            created_at=row.created_at,
        )  # fmt: skip
