"""Custom services, OAuth client registrations, connections, accounts (the sealed credentials),
authorizations, refresh journal and consent flows (SPEC §2–§5)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from plugboard.domain.models import (
    ALL_ENVIRONMENTS,
    AuthorizationStatus,
    AuthType,
    ConnectionLevel,
)
from plugboard.store.tables.base import ENVIRONMENTS, ID, metadata, one_of, values_of
from plugboard.store.types import UTCDateTime

custom_services = Table(
    "custom_services",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("link_name", String(50), nullable=False),
    Column("name", String(50), nullable=False),
    Column("auth_type", String(16), nullable=False),
    Column("definition", JSON, nullable=False),  # the service file without its secret fields
    Column("secrets_sealed", Text),  # client secret, consumer secret
    Column("allow_user_level", Boolean, nullable=False, server_default=text("false")),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("modified_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("modified_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "link_name", name="uq_custom_services_link_name"),
    one_of("auth_type", values_of(AuthType)),
)

# OAuth client registrations (client id / secret) an operator makes for a built-in service.
service_clients = Table(
    "service_clients",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("service_link_name", String(50), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("secrets_sealed", Text),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("modified_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "service_link_name", name="uq_service_clients_service"),
)

connections = Table(
    "connections",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("link_name", String(50), nullable=False),
    Column("name", String(50), nullable=False),
    Column("service_link_name", String(50), nullable=False),
    # Set for connections to a custom service; NULL after that service is deleted (the
    # connection stays, unauthorized, as SPEC §2 requires).
    Column("custom_service_id", ID, ForeignKey("custom_services.id", ondelete="SET NULL")),
    Column("level", String(16), nullable=False),
    Column("per_environment", Boolean, nullable=False, server_default=text("false")),
    Column("scopes", JSON, nullable=False),
    Column("all_scopes", Boolean, nullable=False, server_default=text("false")),
    Column("dynamic_values", JSON, nullable=False),
    Column("origin", String(16), nullable=False, server_default=text("'created'")),
    Column("app_id", ID, ForeignKey("apps.id", ondelete="SET NULL")),
    Column("app_access_locked", Boolean, nullable=False, server_default=text("false")),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("modified_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("modified_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "link_name", name="uq_connections_link_name"),
    one_of("level", values_of(ConnectionLevel)),
    one_of("origin", ["created", "installed", "system"]),
    # Only `user` level connections may carry no app; system connections serve many apps.
    CheckConstraint("level <> 'system' OR app_id IS NULL", name="system_has_no_app"),
)
Index(
    "uq_connections_system_per_service",
    connections.c.workspace_id,
    connections.c.service_link_name,
    unique=True,
    sqlite_where=connections.c.level == "system",
    postgresql_where=connections.c.level == "system",
)
# A workspace's connections enabled for no app or for some apps (the list filter), and one app's
# connections (its listing, its release, the SET NULL when it is deleted).
Index("ix_connections_workspace_app", connections.c.workspace_id, connections.c.app_id)
Index("ix_connections_app_id", connections.c.app_id)

# A linked third-party account: the credential itself. Authorizations point at one, so an account
# can be reused for another environment and a refresh updates every user of it at once.
accounts = Table(
    "accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("connection_id", ID, ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
    Column("owner_user_id", ID, ForeignKey("users.id", ondelete="CASCADE")),
    Column("display_name", String(100), nullable=False),
    Column("external_id", String(255)),
    Column("credential_sealed", Text, nullable=False),
    Column("token_expires_at", UTCDateTime),
    Column("refreshed_at", UTCDateTime),
    Column("refresh_failed_at", UTCDateTime),
    Column("refresh_error", String(500)),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
# A connection's accounts (listing, reuse, deleting them on disconnect) and the token upkeep's
# scan for tokens about to expire.
Index("ix_accounts_connection_id", accounts.c.connection_id)
Index("ix_accounts_token_expires_at", accounts.c.token_expires_at)

# A refresh of an account that was started and whose answer is not stored yet (at most one per
# account; store/refresh_journal.py). The refresh token it sent is sealed, bound to the row id.
refresh_attempts = Table(
    "refresh_attempts",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "account_id",
        ID,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("refresh_token_sealed", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
)

authorizations = Table(
    "authorizations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("connection_id", ID, ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("owner_user_id", ID, ForeignKey("users.id", ondelete="CASCADE")),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False),
    Column("status_detail", String(500)),
    Column("is_primary", Boolean, nullable=False, server_default=text("false")),
    Column("authorized_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    one_of("environment", [ALL_ENVIRONMENTS, *ENVIRONMENTS]),
    one_of("status", values_of(AuthorizationStatus)),
    CheckConstraint("NOT is_primary OR owner_user_id IS NOT NULL", name="primary_is_user_level"),
)
# One authorization per connection × environment × owner: two partial indexes, because NULL
# owners are distinct in a plain unique index on both databases.
Index(
    "uq_authorizations_shared",
    authorizations.c.connection_id,
    authorizations.c.environment,
    unique=True,
    sqlite_where=authorizations.c.owner_user_id.is_(None),
    postgresql_where=authorizations.c.owner_user_id.is_(None),
)
Index(
    "uq_authorizations_per_user",
    authorizations.c.connection_id,
    authorizations.c.environment,
    authorizations.c.owner_user_id,
    unique=True,
    sqlite_where=authorizations.c.owner_user_id.is_not(None),
    postgresql_where=authorizations.c.owner_user_id.is_not(None),
)
Index(
    "uq_authorizations_one_primary",
    authorizations.c.connection_id,
    authorizations.c.environment,
    unique=True,
    sqlite_where=text("is_primary"),
    postgresql_where=text("is_primary"),
)
# The partial indexes above serve no query that does not name the environment and the owner's
# NULL-ness: a connection's list (and a user's own page of it), every authorization of an account
# (a refresh failure marks them all; revoking counts them), and a user's (deleting one cascades).
Index(
    "ix_authorizations_connection_owner",
    authorizations.c.connection_id,
    authorizations.c.owner_user_id,
)
Index("ix_authorizations_account_id", authorizations.c.account_id)
Index("ix_authorizations_owner_user_id", authorizations.c.owner_user_id)

oauth_flows = Table(
    "oauth_flows",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("connection_id", ID, ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
    Column("initiated_by", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("owner_user_id", ID, ForeignKey("users.id", ondelete="CASCADE")),
    Column("state_hash", String(64), nullable=False, unique=True),
    Column("environments", JSON, nullable=False),
    Column("redirect_uri", String(500), nullable=False),
    Column("secrets_sealed", Text),  # PKCE verifier, OAuth 1 request-token secret
    Column("replace_authorization_id", ID, ForeignKey("authorizations.id", ondelete="CASCADE")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("consumed_at", UTCDateTime),
    Column("outcome", String(500)),
)
