"""indexes for the lists, details, revokes and refresh failures that scanned a table

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00.000000

Plain CREATE INDEX on both databases (no table rebuild). The audit index gains the id its
keyset pages by, so it replaces the (workspace_id, created_at) one.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES: list[tuple[str, str, list[str]]] = [
    ("ix_connections_workspace_app", "connections", ["workspace_id", "app_id"]),
    ("ix_connections_app_id", "connections", ["app_id"]),
    ("ix_accounts_connection_id", "accounts", ["connection_id"]),
    ("ix_accounts_token_expires_at", "accounts", ["token_expires_at"]),
    ("ix_authorizations_connection_owner", "authorizations", ["connection_id", "owner_user_id"]),
    ("ix_authorizations_account_id", "authorizations", ["account_id"]),
    ("ix_authorizations_owner_user_id", "authorizations", ["owner_user_id"]),
    ("ix_audit_events_workspace_time_id", "audit_events", ["workspace_id", "created_at", "id"]),
]


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)
    op.drop_index("ix_audit_events_workspace_time", table_name="audit_events")


def downgrade() -> None:
    op.create_index(
        "ix_audit_events_workspace_time", "audit_events", ["workspace_id", "created_at"]
    )
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
