"""Datasources, their syncs, the ten sync slots and the records kept (SPEC §8)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)

from plugboard.store.tables.base import ENVIRONMENTS, ID, metadata, one_of
from plugboard.store.types import UTCDateTime

# -- datasources and integration-field sync (SPEC §8; store/datasources.py) ----------------------
_SYNC_STATUSES = ["queued", "ongoing", "completed", "failed"]

# A datasource links an app (in one environment) to a module of one of its connections' service.
datasources = Table(
    "datasources",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", ID, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("name", String(100), nullable=False),
    Column("connection_id", ID, ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
    Column("module", String(50), nullable=False),
    Column("config", JSON),  # null until configured; never a secret
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("created_by", ID),
    Column("created_at", UTCDateTime, nullable=False),
    Column("configured_by", ID),
    Column("configured_at", UTCDateTime),
    Column("last_completed_at", UTCDateTime),
    UniqueConstraint("app_id", "environment", "name", name="uq_datasources_app_env_name"),
    one_of("environment", ENVIRONMENTS),
)

# One row per sync asked for. At most one queued or ongoing per datasource (the partial unique
# index): a second request is answered with the running one, in every process.
datasource_syncs = Table(
    "datasource_syncs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("datasource_id", ID, ForeignKey("datasources.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", ID, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", ID),  # the user it runs for; null: no user (the primary account)
    Column("quota_key", String(40), nullable=False),  # requested_by, or "-" for no user
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("pages", Integer, nullable=False, server_default=text("0")),
    Column("records_seen", Integer, nullable=False, server_default=text("0")),
    Column("records_changed", Integer, nullable=False, server_default=text("0")),
    Column("records_removed", Integer, nullable=False, server_default=text("0")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("error", String(1000)),
    one_of("status", _SYNC_STATUSES),
)
Index(
    "uq_datasource_syncs_active",
    datasource_syncs.c.datasource_id,
    unique=True,
    sqlite_where=text("status IN ('queued', 'ongoing')"),
    postgresql_where=text("status IN ('queued', 'ongoing')"),
)
Index(
    "ix_datasource_syncs_quota",
    datasource_syncs.c.datasource_id,
    datasource_syncs.c.quota_key,
    datasource_syncs.c.created_at,
)

# A running sync holds one of ten numbered slots: the primary key and the check make "at most
# ten syncs at once" a rule of the database, whatever process runs them.
sync_slots = Table(
    "sync_slots",
    metadata,
    Column("slot", Integer, primary_key=True, autoincrement=False),
    Column(
        "sync_id",
        ID,
        ForeignKey("datasource_syncs.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("lease_until", UTCDateTime, nullable=False),
    CheckConstraint("slot BETWEEN 1 AND 10", name="slot_valid"),
)

# The records kept for a datasource, upserted by their id at the service: a sync run again
# converges instead of duplicating. seen_sync_id is the sync that last wrote the row (inserted or
# changed it); an unchanged row is not rewritten to mark it seen -- a completed sync removes the
# ids it did not see, kept in memory (usecases/sync_writer.py) -- since rewriting every row each
# sync cost 15-30% more per batch, and on PostgreSQL a dead row version per record.
datasource_records = Table(
    "datasource_records",
    metadata,
    Column(
        "datasource_id",
        ID,
        ForeignKey("datasources.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("record_id", String(200), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("seen_sync_id", ID, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The digests of the pages the last completed sync of a datasource received and whose records
# are stored as those pages say (usecases/sync_writer.py): a sync receiving such a page again
# skips writing it.
datasource_pages = Table(
    "datasource_pages",
    metadata,
    Column(
        "datasource_id",
        ID,
        ForeignKey("datasources.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("digest", String(64), primary_key=True),
)
