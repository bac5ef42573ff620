"""A custom service as stored: its definition plus who made it and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plugboard.domain.service import ServiceDefinition


@dataclass(frozen=True, slots=True)
class CustomService:
    id: str
    workspace_id: str
    definition: ServiceDefinition
    created_by: str | None
    created_at: datetime
    modified_by: str | None
    modified_at: datetime

    @property
    def link_name(self) -> str:
        return self.definition.link_name
