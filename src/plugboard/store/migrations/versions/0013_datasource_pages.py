"""datasource_pages: the answers a completed sync wrote, by digest

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:30:00.000000

A sync that receives a page exactly as the last completed sync did (the same bytes, reduced to
the same fields) skips writing it: its records are stored as they are (usecases/sync_writer.py
says when that holds). The table holds the digests of those pages per datasource; a new table,
so nothing is rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "datasource_pages",
        sa.Column("datasource_id", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["datasource_id"],
            ["datasources.id"],
            name=op.f("fk_datasource_pages_datasource_id_datasources"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("datasource_id", "digest", name=op.f("pk_datasource_pages")),
    )


def downgrade() -> None:
    op.drop_table("datasource_pages")
