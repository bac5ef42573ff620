"""Records of an OAuth consent started on a server, and of its progress."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["ConsentStarted", "ConsentStatus"]


class ConsentStarted(BaseModel):
    """Send the person to ``authorize_url`` before ``expires_at``; its single-use state is
    kept out of ``repr`` (and so out of logs of the record)."""

    flow_id: str
    authorize_url: str = Field(description="Send the person here to give consent.", repr=False)
    expires_at: datetime = Field(description="The consent must complete before this time.")


class ConsentStatus(BaseModel):
    flow_id: str
    state: str = Field(description="pending, completed, failed or expired.")
    outcome: str | None
