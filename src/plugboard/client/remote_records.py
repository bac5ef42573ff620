"""The REST API's JSON back into the records both clients return."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from plugboard.client.protocol import AuthorizationInfo, ConnectionInfo, ServiceInfo
from plugboard.records import AuthorizationListItem, ConnectionPublic, ServicePublic

__all__ = ["authorization_from", "connection_from", "parse_when", "service_from"]


def parse_when(value: Any) -> datetime:
    """A timestamp of the REST API (ISO 8601)."""
    return datetime.fromisoformat(str(value))


def connection_from(d: Mapping[str, Any]) -> ConnectionInfo:
    return ConnectionPublic.model_validate(d)


def authorization_from(d: Mapping[str, Any]) -> AuthorizationInfo:
    return AuthorizationListItem.model_validate(d)


def service_from(d: Mapping[str, Any]) -> ServiceInfo:
    return ServicePublic.model_validate(d)
