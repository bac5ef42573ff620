"""index for the newest event about one connection's authorization

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:40:00.000000

"Told already?" before recording authorization.required reads the newest state event of a
connection's authorization: (connection_id, id) serves it newest first without scanning the
outbox. Plain CREATE INDEX on both databases (no table rebuild).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_connection_id", "events", ["connection_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_connection_id", table_name="events")
