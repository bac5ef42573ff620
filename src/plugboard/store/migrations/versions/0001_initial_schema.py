"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 04:02:15.495118
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugboard.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_events_workspace_time", ["workspace_id", "created_at"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('developer', 'client')", name=op.f("ck_workspaces_kind_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("name", name=op.f("uq_workspaces_name")),
    )
    op.create_table(
        "apps",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("link_name", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_apps_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_apps_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apps")),
        sa.UniqueConstraint("workspace_id", "link_name", name="uq_apps_link_name"),
    )
    op.create_table(
        "custom_services",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("link_name", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("auth_type", sa.String(length=16), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("secrets_sealed", sa.Text(), nullable=True),
        sa.Column(
            "allow_user_level", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
        ),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by", sa.String(length=40), nullable=True),
        sa.Column("modified_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "auth_type IN ('api_key', 'basic', 'oauth1', 'oauth2', 'aws_sigv4')",
            name=op.f("ck_custom_services_auth_type_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_custom_services_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["modified_by"],
            ["users.id"],
            name=op.f("fk_custom_services_modified_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_custom_services_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_services")),
        sa.UniqueConstraint("workspace_id", "link_name", name="uq_custom_services_link_name"),
    )
    op.create_table(
        "memberships",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('super_admin', 'admin', 'developer', 'user')",
            name=op.f("ck_memberships_role_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_memberships_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name=op.f("pk_memberships")),
    )
    op.create_table(
        "service_clients",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("service_link_name", sa.String(length=50), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("secrets_sealed", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_service_clients_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_service_clients_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_clients")),
        sa.UniqueConstraint("workspace_id", "service_link_name", name="uq_service_clients_service"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column(
            "acts_for_users", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
        ),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "user_id"],
            ["memberships.workspace_id", "memberships.user_id"],
            name="fk_api_tokens_membership",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "connections",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("link_name", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("service_link_name", sa.String(length=50), nullable=False),
        sa.Column("custom_service_id", sa.String(length=40), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column(
            "per_environment", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
        ),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("all_scopes", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("dynamic_values", sa.JSON(), nullable=False),
        sa.Column(
            "origin", sa.String(length=16), server_default=sa.text("'created'"), nullable=False
        ),
        sa.Column("app_id", sa.String(length=40), nullable=True),
        sa.Column(
            "app_access_locked", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
        ),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by", sa.String(length=40), nullable=True),
        sa.Column("modified_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "level <> 'system' OR app_id IS NULL", name=op.f("ck_connections_system_has_no_app")
        ),
        sa.CheckConstraint(
            "level IN ('admin', 'system', 'user')", name=op.f("ck_connections_level_valid")
        ),
        sa.CheckConstraint(
            "origin IN ('created', 'installed', 'system')", name=op.f("ck_connections_origin_valid")
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_connections_app_id_apps"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_connections_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["custom_service_id"],
            ["custom_services.id"],
            name=op.f("fk_connections_custom_service_id_custom_services"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["modified_by"],
            ["users.id"],
            name=op.f("fk_connections_modified_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_connections_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint("workspace_id", "link_name", name="uq_connections_link_name"),
    )
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.create_index(
            "uq_connections_system_per_service",
            ["workspace_id", "service_link_name"],
            unique=True,
            sqlite_where=sa.text("level = 'system'"),
            postgresql_where=sa.text("level = 'system'"),
        )

    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("connection_id", sa.String(length=40), nullable=False),
        sa.Column("owner_user_id", sa.String(length=40), nullable=True),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("credential_sealed", sa.Text(), nullable=False),
        sa.Column(
            "token_expires_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("refreshed_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "refresh_failed_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("refresh_error", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_accounts_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_accounts_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_accounts_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_accounts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "component_references",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("connection_id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("component_type", sa.String(length=16), nullable=False),
        sa.Column("component_name", sa.String(length=100), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "component_type IN ('form', 'workflow', 'function', 'page', 'schedule', 'datasource', 'sms_action')",
            name=op.f("ck_component_references_component_type_valid"),
        ),
        sa.CheckConstraint(
            "environment IN ('development', 'stage', 'production')",
            name=op.f("ck_component_references_environment_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_component_references_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_component_references_connection_id_connections"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_component_references_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_references")),
        sa.UniqueConstraint(
            "connection_id",
            "app_id",
            "component_type",
            "component_name",
            "environment",
            name="uq_component_references_component",
        ),
    )
    op.create_table(
        "authorizations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("connection_id", sa.String(length=40), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("owner_user_id", sa.String(length=40), nullable=True),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_detail", sa.String(length=500), nullable=True),
        sa.Column("is_primary", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("authorized_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "environment IN ('all', 'development', 'stage', 'production')",
            name=op.f("ck_authorizations_environment_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('connected', 'not_connected', 'expired', 'revoked', 'needs_reauth', 'failed')",
            name=op.f("ck_authorizations_status_valid"),
        ),
        sa.CheckConstraint(
            "NOT is_primary OR owner_user_id IS NOT NULL",
            name=op.f("ck_authorizations_primary_is_user_level"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_authorizations_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["authorized_by"],
            ["users.id"],
            name=op.f("fk_authorizations_authorized_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_authorizations_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_authorizations_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_authorizations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorizations")),
    )
    with op.batch_alter_table("authorizations", schema=None) as batch_op:
        batch_op.create_index(
            "uq_authorizations_one_primary",
            ["connection_id", "environment"],
            unique=True,
            sqlite_where=sa.text("is_primary"),
            postgresql_where=sa.text("is_primary"),
        )
        batch_op.create_index(
            "uq_authorizations_per_user",
            ["connection_id", "environment", "owner_user_id"],
            unique=True,
            sqlite_where=sa.text("owner_user_id IS NOT NULL"),
            postgresql_where=sa.text("owner_user_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_authorizations_shared",
            ["connection_id", "environment"],
            unique=True,
            sqlite_where=sa.text("owner_user_id IS NULL"),
            postgresql_where=sa.text("owner_user_id IS NULL"),
        )

    op.create_table(
        "oauth_flows",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("connection_id", sa.String(length=40), nullable=False),
        sa.Column("initiated_by", sa.String(length=40), nullable=False),
        sa.Column("owner_user_id", sa.String(length=40), nullable=True),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("environments", sa.JSON(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("secrets_sealed", sa.Text(), nullable=True),
        sa.Column("replace_authorization_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", plugboard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_oauth_flows_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["initiated_by"],
            ["users.id"],
            name=op.f("fk_oauth_flows_initiated_by_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_oauth_flows_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replace_authorization_id"],
            ["authorizations.id"],
            name=op.f("fk_oauth_flows_replace_authorization_id_authorizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_oauth_flows_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_flows")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_oauth_flows_state_hash")),
    )


def downgrade() -> None:
    op.drop_table("oauth_flows")
    with op.batch_alter_table("authorizations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_authorizations_shared",
            sqlite_where=sa.text("owner_user_id IS NULL"),
            postgresql_where=sa.text("owner_user_id IS NULL"),
        )
        batch_op.drop_index(
            "uq_authorizations_per_user",
            sqlite_where=sa.text("owner_user_id IS NOT NULL"),
            postgresql_where=sa.text("owner_user_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_authorizations_one_primary",
            sqlite_where=sa.text("is_primary"),
            postgresql_where=sa.text("is_primary"),
        )

    op.drop_table("authorizations")
    op.drop_table("component_references")
    op.drop_table("accounts")
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_connections_system_per_service",
            sqlite_where=sa.text("level = 'system'"),
            postgresql_where=sa.text("level = 'system'"),
        )

    op.drop_table("connections")
    op.drop_table("api_tokens")
    op.drop_table("service_clients")
    op.drop_table("memberships")
    op.drop_table("custom_services")
    op.drop_table("apps")
    op.drop_table("workspaces")
    op.drop_table("users")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_workspace_time")

    op.drop_table("audit_events")
