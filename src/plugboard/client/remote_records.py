"""The REST API's JSON back into the records both clients return."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from plugboard.client.protocol import AuthorizationInfo, ConnectionInfo, ServiceInfo

__all__ = ["authorization_from", "connection_from", "parse_when", "service_from"]


def parse_when(value: Any) -> datetime:
    """A timestamp of the REST API (ISO 8601)."""
    return datetime.fromisoformat(str(value))


def connection_from(d: Mapping[str, Any]) -> ConnectionInfo:
    return ConnectionInfo(
        id=d["id"], link_name=d["link_name"], name=d["name"], service=d["service"],
        level=d["level"], per_environment=d["per_environment"], scopes=tuple(d["scopes"]),
        all_scopes=d["all_scopes"], params=dict(d["params"]), origin=d["origin"],
        created_by=d["created_by"], created_at=parse_when(d["created_at"]),
        modified_by=d["modified_by"], modified_at=parse_when(d["modified_at"]), status=d["status"],
    )  # fmt: skip


def authorization_from(d: Mapping[str, Any]) -> AuthorizationInfo:
    return AuthorizationInfo(
        id=d["id"], environment=d["environment"], owner_user_id=d["owner_user_id"],
        account_name=d["account_name"], status=d["status"], status_detail=d["status_detail"],
        is_primary=d["is_primary"], created_at=parse_when(d["created_at"]),
        updated_at=parse_when(d["updated_at"]), owner_email=d.get("owner_email"),
        owner_name=d.get("owner_name"), owner_role=d.get("owner_role"),
    )  # fmt: skip


def service_from(d: Mapping[str, Any]) -> ServiceInfo:
    return ServiceInfo(
        link_name=d["link_name"], name=d["name"], category=d["category"],
        auth_type=d["auth_type"], allow_user_level=d["allow_user_level"], builtin=d["builtin"],
        definition=dict(d["definition"]),
    )  # fmt: skip
