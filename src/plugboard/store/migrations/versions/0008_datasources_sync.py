"""datasources, their syncs, the ten sync slots and the records kept

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugboard.store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = "status IN ('queued', 'ongoing')"


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, plugboard.store.types.UTCDateTime(timezone=True), nullable=nullable)


def _fk(column: str, table: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def _count(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "datasources",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("connection_id", sa.String(length=40), nullable=False),
        sa.Column("module", sa.String(length=50), nullable=False),
        sa.Column("config", sa.JSON(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        _time("created_at"),
        sa.Column("configured_by", sa.String(length=40), nullable=True),
        _time("configured_at", nullable=True),
        _time("last_completed_at", nullable=True),
        sa.CheckConstraint(
            "environment IN ('development', 'stage', 'production')",
            name=op.f("ck_datasources_environment_valid"),
        ),
        _fk("workspace_id", "datasources", "workspaces"),
        _fk("app_id", "datasources", "apps"),
        _fk("connection_id", "datasources", "connections"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasources")),
        sa.UniqueConstraint(
            "app_id", "environment", "name", name=op.f("uq_datasources_app_env_name")
        ),
    )
    op.create_table(
        "datasource_syncs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("datasource_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=True),
        sa.Column("quota_key", sa.String(length=40), nullable=False),
        _time("created_at"),
        _time("started_at", nullable=True),
        _time("finished_at", nullable=True),
        _count("pages"),
        _count("records_seen"),
        _count("records_changed"),
        _count("records_removed"),
        _count("attempts"),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'ongoing', 'completed', 'failed')",
            name=op.f("ck_datasource_syncs_status_valid"),
        ),
        _fk("datasource_id", "datasource_syncs", "datasources"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasource_syncs")),
    )
    op.create_index(
        "uq_datasource_syncs_active",
        "datasource_syncs",
        ["datasource_id"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE),
        postgresql_where=sa.text(_ACTIVE),
    )
    op.create_index(
        "ix_datasource_syncs_quota",
        "datasource_syncs",
        ["datasource_id", "quota_key", "created_at"],
        unique=False,
    )
    op.create_table(
        "sync_slots",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sync_id", sa.String(length=40), nullable=False),
        _time("lease_until"),
        sa.CheckConstraint("slot BETWEEN 1 AND 10", name=op.f("ck_sync_slots_slot_valid")),
        _fk("sync_id", "sync_slots", "datasource_syncs"),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_sync_slots")),
        sa.UniqueConstraint("sync_id", name=op.f("uq_sync_slots_sync_id")),
    )
    op.create_table(
        "datasource_records",
        sa.Column("datasource_id", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("seen_sync_id", sa.String(length=40), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        _fk("datasource_id", "datasource_records", "datasources"),
        sa.PrimaryKeyConstraint("datasource_id", "record_id", name=op.f("pk_datasource_records")),
    )


def downgrade() -> None:
    op.drop_table("datasource_records")
    op.drop_table("sync_slots")
    op.drop_index("ix_datasource_syncs_quota", table_name="datasource_syncs")
    op.drop_index("uq_datasource_syncs_active", table_name="datasource_syncs")
    op.drop_table("datasource_syncs")
    op.drop_table("datasources")
