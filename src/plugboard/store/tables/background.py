"""Background work: the events outbox and its consumers, notifications, token upkeep, the
in-process job queue and webhooks (SPEC §5, §11, §12)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from plugboard.store.tables.base import ID, metadata, one_of
from plugboard.store.types import UTCDateTime

# The events outbox (SPEC §11; usecases/events.py): written in the transaction of the change that
# causes it. Ids sort by creation. No foreign keys: an event outlives what it speaks of.
events = Table(
    "events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, nullable=False),
    Column("type", String(48), nullable=False),
    Column("connection_id", ID),
    Column("environment", String(16)),
    Column("user_id", ID),  # the authorization's owner (user level)
    Column("actor", String(300), nullable=False),
    Column("payload", JSON, nullable=False),  # never a secret
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_events_created_at", events.c.created_at)
# The newest event about one connection's authorization ("told already?").
Index("ix_events_connection_id", events.c.connection_id, events.c.id)

# Which consumer (notifications, webhooks …) processed which event: written in the transaction
# that processes it, so a consumer that dies mid-way finds the event again.
event_consumptions = Table(
    "event_consumptions",
    metadata,
    Column("event_id", ID, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("consumer", String(32), primary_key=True),
    Column("processed_at", UTCDateTime, nullable=False),
)

# One per (event, person): one notification per state change per person (SPEC §5).
notifications = Table(
    "notifications",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", ID, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(48), nullable=False),
    Column("connection_id", ID),
    Column("environment", String(16)),
    Column("owner_user_id", ID),
    Column("title", String(200), nullable=False),
    Column("body", String(1000), nullable=False),
    Column("link", String(500), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    # none (no SMTP or muted), pending, sent, failed (gave up after retries)
    Column("email_status", String(16), nullable=False),
    Column("email_attempts", Integer, nullable=False, server_default=text("0")),
    Column("email_claimed_until", UTCDateTime),
    Column("email_error", String(500)),
    Column("emailed_at", UTCDateTime),
    UniqueConstraint("event_id", "user_id", name="uq_notifications_event_user"),
    one_of("email_status", ["none", "pending", "sent", "failed"]),
)
Index("ix_notifications_user_time", notifications.c.user_id, notifications.c.created_at)
Index("ix_notifications_email_status", notifications.c.email_status)

# A person muted a connection: no notification about it for them.
notification_mutes = Table(
    "notification_mutes",
    metadata,
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("connection_id", ID, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# When the proactive refresh (usecases/token_upkeep.py) may next look at an account that it could
# not refresh yet (no refresh token before expiry, a failure): keeps such accounts out of the
# batch instead of at its head.
token_upkeep = Table(
    "token_upkeep",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("next_at", UTCDateTime, nullable=False),
    Column("note", String(200)),
)
Index("ix_token_upkeep_next_at", token_upkeep.c.next_at)

# Background jobs (jobs/): the queue of the in-process runner (SQLite), and on PostgreSQL the
# errors of procrastinate's jobs (id `pcr_<its id>`). A periodic run is unique per period.
job_runs = Table(
    "job_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("task", String(64), nullable=False),
    Column("period_key", String(40)),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("error", String(2000)),
    Column("run_after", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("worker", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("task", "period_key", name="uq_job_runs_period"),
    one_of("status", ["queued", "running", "succeeded", "failed"]),
)
Index("ix_job_runs_status", job_runs.c.status, job_runs.c.run_after)

# An endpoint of a workspace: where deliveries go, which event types it wants (["*"]: all), and
# its signing secrets, sealed (the current one and, during a rotation's overlap, the previous).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("description", String(200)),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("secret_sealed", Text, nullable=False),
    Column("previous_valid_until", UTCDateTime),  # the previous secret signs until then
    Column("created_by", ID),
    Column("created_at", UTCDateTime, nullable=False),
    Column("rotated_at", UTCDateTime),
)
Index("ix_webhook_endpoints_workspace_id", webhook_endpoints.c.workspace_id)

# One message per (endpoint, event): the fan-out is idempotent. Its id is the `webhook-id` every
# attempt and replay sends; its body is the exact JSON signed (never a secret).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "endpoint_id", ID, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    ),
    Column("workspace_id", ID, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", ID, nullable=False),
    Column("event_type", String(48), nullable=False),
    Column("body", Text, nullable=False),
    # pending (an attempt is due at next_attempt_at), delivered, failed (gave up after a day)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UTCDateTime),
    Column("claimed_until", UTCDateTime),
    Column("give_up_at", UTCDateTime, nullable=False),
    Column("last_status_code", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    one_of("status", ["pending", "delivered", "failed"]),
)
Index(
    "ix_webhook_deliveries_due", webhook_deliveries.c.status, webhook_deliveries.c.next_attempt_at
)
Index("ix_webhook_deliveries_endpoint_id", webhook_deliveries.c.endpoint_id)

# Every attempt of a delivery: what came back (status, latency, an excerpt without secrets).
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "delivery_id", ID, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
    ),
    Column("number", Integer, nullable=False),
    Column("cause", String(16), nullable=False),  # scheduled or replay
    Column("started_at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Integer, nullable=False),
    Column("response_excerpt", String(500)),
    Column("error", String(500)),
    UniqueConstraint("delivery_id", "number", name="uq_webhook_attempts_delivery_number"),
    one_of("outcome", ["delivered", "failed", "blocked", "error"]),
    one_of("cause", ["scheduled", "replay"]),
)
