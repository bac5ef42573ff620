"""events outbox, notifications and mutes, background job runs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 04:10:55.212635
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugboard.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("connection_id", sa.String(length=40), nullable=True),
        sa.Column("environment", sa.String(length=16), nullable=True),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_created_at", "events", ["created_at"], unique=False)

    op.create_table(
        "job_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("period_key", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("run_after", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", plugboard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name=op.f("ck_job_runs_status_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("task", "period_key", name="uq_job_runs_period"),
    )
    op.create_index("ix_job_runs_status", "job_runs", ["status", "run_after"], unique=False)

    op.create_table(
        "event_consumptions",
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("consumer", sa.String(length=32), nullable=False),
        sa.Column("processed_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_consumptions_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "consumer", name=op.f("pk_event_consumptions")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("connection_id", sa.String(length=40), nullable=True),
        sa.Column("environment", sa.String(length=16), nullable=True),
        sa.Column("owner_user_id", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("email_status", sa.String(length=16), nullable=False),
        sa.Column("email_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "email_claimed_until", plugboard.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("email_error", sa.String(length=500), nullable=True),
        sa.Column("emailed_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "email_status IN ('none', 'pending', 'sent', 'failed')",
            name=op.f("ck_notifications_email_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_notifications_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_notifications_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("event_id", "user_id", name="uq_notifications_event_user"),
    )
    op.create_index(
        "ix_notifications_email_status", "notifications", ["email_status"], unique=False
    )
    op.create_index(
        "ix_notifications_user_time", "notifications", ["user_id", "created_at"], unique=False
    )

    op.create_table(
        "token_upkeep",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("next_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_token_upkeep_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_token_upkeep")),
    )
    op.create_index("ix_token_upkeep_next_at", "token_upkeep", ["next_at"], unique=False)
    op.create_table(
        "notification_mutes",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("connection_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_notification_mutes_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_mutes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_notification_mutes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "connection_id", name=op.f("pk_notification_mutes")),
    )


def downgrade() -> None:
    op.drop_index("ix_token_upkeep_next_at", table_name="token_upkeep")
    op.drop_table("token_upkeep")
    op.drop_table("notification_mutes")
    op.drop_index("ix_notifications_user_time", table_name="notifications")
    op.drop_index("ix_notifications_email_status", table_name="notifications")

    op.drop_table("notifications")
    op.drop_table("event_consumptions")
    op.drop_index("ix_job_runs_status", table_name="job_runs")

    op.drop_table("job_runs")
    op.drop_index("ix_events_created_at", table_name="events")

    op.drop_table("events")
