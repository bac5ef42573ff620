"""Records of datasources (SPEC §8), their syncs and the records Plugboard keeps for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from plugboard.domain.datasources import Sync

__all__ = [
    "ConfigFieldPublic",
    "DatasourcePublic",
    "DatasourceRecordPublic",
    "RecordPage",
    "SyncPublic",
    "SyncRequested",
]


class ConfigFieldPublic(BaseModel):
    """A value the datasource's module is configured with."""

    key: str
    display_name: str
    description: str
    required: bool
    pattern: str | None
    default: str | None


class SyncPublic(BaseModel):
    id: str
    datasource_id: str
    status: str = Field(description="queued, ongoing, completed or failed (retryable).")
    requested_by: str | None = Field(
        description="The member it runs for (e-mail); none: the primary account."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    pages: int
    records_seen: int
    records_changed: int
    records_removed: int
    attempts: int
    error: str | None = Field(description="Why it failed (never a credential).")

    @classmethod
    def of(cls, s: Sync, requested_by: str | None) -> SyncPublic:
        return cls(
            id=s.id, datasource_id=s.datasource_id, status=s.status.value,
            requested_by=requested_by, created_at=s.created_at, started_at=s.started_at,
            finished_at=s.finished_at, pages=s.pages, records_seen=s.records_seen,
            records_changed=s.records_changed, records_removed=s.records_removed,
            attempts=s.attempts, error=s.error,
        )  # fmt: skip


class SyncRequested(BaseModel):
    """The answer to a sync request: the sync that runs (a new one, or the one already queued
    or ongoing, whose timestamp the caller is shown)."""

    sync: SyncPublic
    started: bool = Field(description="False: a sync of the datasource was queued or ongoing.")
    last_completed_at: datetime | None


class DatasourcePublic(BaseModel):
    id: str
    app: str
    environment: str
    name: str
    connection: str
    service: str
    module: str
    module_name: str
    config: dict[str, str] | None = Field(description="None: never configured.")
    config_fields: list[ConfigFieldPublic]
    enabled: bool
    configurable: bool = Field(description="Whether configure/reconfigure is allowed now.")
    refusal: str | None = Field(description="The rule that refuses configuring it now, if any.")
    created_at: datetime
    configured_at: datetime | None
    last_completed_at: datetime | None
    last_sync: SyncPublic | None


class DatasourceRecordPublic(BaseModel):
    """One record of the service, reduced to the module's fields."""

    id: str = Field(description="The record's id at the service.")
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RecordPage(BaseModel):
    items: list[DatasourceRecordPublic]
    next_cursor: str | None = Field(description="Pass as `after` (cursor) for the next page.")
