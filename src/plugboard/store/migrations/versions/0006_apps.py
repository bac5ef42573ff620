"""apps: components per environment, stage versions, app users, app tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 03:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugboard.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS_BEFORE = "'form', 'workflow', 'function', 'page', 'schedule', 'datasource', 'sms_action'"
_KINDS = "'form', 'workflow', 'function', 'page', 'panel', 'schedule', 'datasource', 'sms_action'"
_ENVIRONMENTS = "'development', 'stage', 'production'"


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, plugboard.store.types.UTCDateTime(timezone=True), nullable=nullable)


def _fk(column: str, table: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    # Plain ALTERs, never a batch rebuild: on SQLite rebuilding `apps` drops the old table,
    # which cascades to every reference to it and unlinks every connection enabled for an app.
    op.add_column(
        "apps", sa.Column("version", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "apps",
        sa.Column(
            "origin", sa.String(length=16), server_default=sa.text("'created'"), nullable=False
        ),
    )
    op.add_column("apps", sa.Column("source", sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name != "sqlite":  # SQLite adds no constraint to a table in place
        op.create_check_constraint(
            "origin_valid", "apps", "origin IN ('created', 'installed', 'imported')"
        )
    op.create_index("ix_apps_source", "apps", ["workspace_id", "source"], unique=False)

    op.create_table(
        "components",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("uses", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        _time("created_at"),
        _time("modified_at"),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_components_kind_valid")),
        sa.CheckConstraint(
            f"environment IN ({_ENVIRONMENTS})", name=op.f("ck_components_environment_valid")
        ),
        _fk("app_id", "components", "apps", "CASCADE"),
        _fk("created_by", "components", "users", "SET NULL"),
        _fk("workspace_id", "components", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_components")),
        sa.UniqueConstraint("app_id", "environment", "kind", "name", name="uq_components_name"),
    )
    op.create_table(
        "app_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        _time("created_at"),
        _fk("app_id", "app_versions", "apps", "CASCADE"),
        _fk("created_by", "app_versions", "users", "SET NULL"),
        _fk("workspace_id", "app_versions", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_versions")),
        sa.UniqueConstraint("app_id", "number", name="uq_app_versions_number"),
    )
    op.create_table(
        "app_users",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("granted_by", sa.String(length=40), nullable=True),
        _time("created_at"),
        _fk("app_id", "app_users", "apps", "CASCADE"),
        _fk("granted_by", "app_users", "users", "SET NULL"),
        _fk("user_id", "app_users", "users", "CASCADE"),
        _fk("workspace_id", "app_users", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("app_id", "user_id", name=op.f("pk_app_users")),
    )
    op.create_index("ix_app_users_user_id", "app_users", ["user_id"], unique=False)
    op.create_table(
        "app_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        _time("created_at"),
        _time("revoked_at", nullable=True),
        _time("last_used_at", nullable=True),
        _fk("app_id", "app_tokens", "apps", "CASCADE"),
        _fk("created_by", "app_tokens", "users", "SET NULL"),
        _fk("workspace_id", "app_tokens", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_app_tokens_token_hash")),
    )

    with op.batch_alter_table("component_references") as batch:
        batch.add_column(sa.Column("component_id", sa.String(length=40), nullable=True))
        batch.create_foreign_key(
            op.f("fk_component_references_component_id_components"),
            "components",
            ["component_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(
            op.f("ix_component_references_component_id"), ["component_id"], unique=False
        )
        batch.drop_constraint(op.f("ck_component_references_component_type_valid"), type_="check")
        batch.create_check_constraint("component_type_valid", f"component_type IN ({_KINDS})")


def downgrade() -> None:
    op.execute("DELETE FROM component_references WHERE component_type = 'panel'")
    with op.batch_alter_table("component_references") as batch:
        batch.drop_constraint(op.f("ck_component_references_component_type_valid"), type_="check")
        batch.create_check_constraint(
            "component_type_valid", f"component_type IN ({_KINDS_BEFORE})"
        )
        batch.drop_index(op.f("ix_component_references_component_id"))
        batch.drop_constraint(
            op.f("fk_component_references_component_id_components"), type_="foreignkey"
        )
        batch.drop_column("component_id")
    op.drop_table("app_tokens")
    op.drop_index("ix_app_users_user_id", table_name="app_users")
    op.drop_table("app_users")
    op.drop_table("app_versions")
    op.drop_table("components")
    op.drop_index("ix_apps_source", table_name="apps")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_apps_origin_valid"), "apps", type_="check")
    for column in ("source", "origin", "version"):
        op.drop_column("apps", column)  # ALTER TABLE … DROP COLUMN, in place (SQLite ≥ 3.35)
