"""Apps, their components per environment, stage versions, app users, app tokens, and the
component references that protect connections (SPEC §3, §6)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)

from plugboard.domain.models import (
    ComponentType,
)
from plugboard.store.tables.base import ENVIRONMENTS, ID, metadata, one_of, values_of
from plugboard.store.types import UTCDateTime

apps = Table(
    "apps",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("link_name", String(50), nullable=False),
    Column("name", String(50), nullable=False),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    # The newest stage version (developer workspace) or the installed one (client workspace).
    Column("version", Integer, nullable=False, server_default=text("0")),
    Column("origin", String(16), nullable=False, server_default=text("'created'")),
    # "<workspace>/<app link name>" of the app an installed one came from: an update finds it.
    Column("source", String(200)),
    UniqueConstraint("workspace_id", "link_name", name="uq_apps_link_name"),
    one_of("origin", ["created", "installed", "imported"]),
)
Index("ix_apps_source", apps.c.workspace_id, apps.c.source)

# A component of an app in one environment: `development` is the copy builders edit, `stage` the
# newest published version, `production` what an installed app runs. `uses` is
# {"connections": [link names], "services": [service link names]} (domain/apps.ComponentUses).
components = Table(
    "components",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", ID, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(100), nullable=False),
    Column("uses", JSON, nullable=False),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("modified_at", UTCDateTime, nullable=False),
    UniqueConstraint("app_id", "environment", "kind", "name", name="uq_components_name"),
    one_of("kind", values_of(ComponentType)),
    one_of("environment", ENVIRONMENTS),
)

# A stage publish: the package content (without digest) of that version, numbered per app.
app_versions = Table(
    "app_versions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", ID, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("digest", String(80), nullable=False),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("app_id", "number", name="uq_app_versions_number"),
)

# The members granted an app ("app users"): a `user` sees and runs only the apps granted to them.
app_users = Table(
    "app_users",
    metadata,
    Column("app_id", ID, ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("granted_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_app_users_user_id", app_users.c.user_id)

# Tokens an app's code calls Plugboard with, as the app (not as a member). Stored as hashes.
app_tokens = Table(
    "app_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", ID, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
)

component_references = Table(
    "component_references",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    # RESTRICT: the database itself refuses to delete a referenced connection.
    Column("connection_id", ID, ForeignKey("connections.id", ondelete="RESTRICT"), nullable=False),
    Column("app_id", ID, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    # Maintained with the component: removing the component removes its references.
    Column("component_id", ID, ForeignKey("components.id", ondelete="CASCADE"), index=True),
    Column("component_type", String(16), nullable=False),
    Column("component_name", String(100), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "connection_id",
        "app_id",
        "component_type",
        "component_name",
        "environment",
        name="uq_component_references_component",
    ),
    one_of("component_type", values_of(ComponentType)),
    one_of("environment", ENVIRONMENTS),
)
