"""Workspaces, members, invitations, API tokens, console sessions, login throttling and the
audit log (SPEC §1, §10)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)

from plugboard.domain.models import (
    Role,
    WorkspaceKind,
)
from plugboard.store.tables.base import ID, metadata, one_of, values_of
from plugboard.store.types import UTCDateTime

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    one_of("kind", values_of(WorkspaceKind)),
)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("password_hash", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
)

memberships = Table(
    "memberships",
    metadata,
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    one_of("role", values_of(Role)),
)

# Adding an account that already exists invites it: it becomes a member when it accepts.
invitations = Table(
    "invitations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("invited_by", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "user_id", name="uq_invitations_workspace_user"),
    one_of("role", values_of(Role)),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, nullable=False),
    Column("user_id", ID, nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("acts_for_users", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    # A token exists only while its user is a member of its workspace.
    ForeignKeyConstraint(
        ["workspace_id", "user_id"],
        ["memberships.workspace_id", "memberships.user_id"],
        ondelete="CASCADE",
        name="fk_api_tokens_membership",
    ),
)

# Console sessions: a cookie carries the secret; only hashes of it and of its CSRF token are kept.
sessions = Table(
    "sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_hash", String(64), nullable=False),
    Column("workspace_id", ID, nullable=False),
    Column("user_id", ID, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    ForeignKeyConstraint(
        ["workspace_id", "user_id"],
        ["memberships.workspace_id", "memberships.user_id"],
        ondelete="CASCADE",
        name="fk_sessions_membership",
    ),
)

# Failed console logins per (e-mail, client address): how many since the last quiet window, and
# until when the next attempt from that address must wait. No foreign key: unknown e-mails count.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("email", String(254), primary_key=True),
    Column("address", String(100), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False),
    Column("blocked_until", UTCDateTime),
)
Index("ix_login_throttle_last_failure_at", login_throttle.c.last_failure_at)

# No foreign keys: the audit log outlives the objects it speaks of.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID),
    Column("actor", String(300), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(100)),
    Column("outcome", String(16), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
# The log is paged newest first by (created_at, id): the id in the index serves the keyset.
Index(
    "ix_audit_events_workspace_time_id",
    audit_events.c.workspace_id,
    audit_events.c.created_at,
    audit_events.c.id,
)
