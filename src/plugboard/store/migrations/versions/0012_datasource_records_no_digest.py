"""datasource_records: the digest column goes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 09:30:00.000000

A record is unchanged when its stored text is the text the sync makes of it, compared by the
database (store/datasource_records.py), which on SQLite cannot hash: the SHA-256 digest of the
text is no longer written or read. ALTER TABLE ... DROP COLUMN on both databases (SQLite >= 3.35
drops a column that no index or constraint names without rebuilding the table).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column("datasource_records", "digest")


def downgrade() -> None:
    # Rows written since have no digest: an empty one (never equal to a SHA-256 in hex).
    op.add_column(
        "datasource_records",
        sa.Column("digest", sa.String(length=64), nullable=False, server_default=""),
    )
