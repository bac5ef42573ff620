"""Apps, their components and app access (SPEC §6), as plain values and pure rules.

An app lives in a workspace and has components (forms, workflows, …). Each component exists once
per environment it runs in: the `development` copy is the one builders edit, publishing to
`stage` snapshots copies as a numbered version, and an installed app's components run in
`production`. A component *uses* connections by link name and services by link name (a service
it names is served by the workspace's system connection for that service, SPEC §4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugboard.domain.connections import Connection
from plugboard.domain.models import ComponentType, ConnectionLevel, Environment
from plugboard.domain.naming import check_display_name, check_link_name
from plugboard.errors import Conflict, ValidationError

COMPONENT_NAME_MAX = 100
COPY_SUFFIX = "_copy"


@dataclass(frozen=True, slots=True)
class App:
    id: str
    workspace_id: str
    link_name: str
    name: str
    version: int  # the newest stage version (developer workspace) or the installed one
    origin: str  # created | installed | imported
    source: str | None  # where an installed app came from: "<workspace>/<app link name>"
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ComponentUses:
    """What a component uses: connections by link name, and services for system connections."""

    connections: tuple[str, ...] = ()
    services: tuple[str, ...] = ()

    def as_data(self) -> dict[str, list[str]]:
        return {"connections": list(self.connections), "services": list(self.services)}

    @classmethod
    def from_data(cls, data: object) -> ComponentUses:
        if not isinstance(data, dict):
            return cls()
        return cls(
            tuple(str(c) for c in data.get("connections", ())),
            tuple(str(s) for s in data.get("services", ())),
        )


@dataclass(frozen=True, slots=True)
class Component:
    id: str
    app_id: str
    environment: Environment
    kind: ComponentType
    name: str
    uses: ComponentUses
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class AppVersion:
    """A stage publish: the snapshot (package content without its digest) and its number."""

    id: str
    app_id: str
    number: int
    snapshot: dict[str, Any]
    digest: str
    created_by: str | None
    created_at: datetime


def check_component_kind(value: str, field: str = "kind") -> ComponentType:
    try:
        return ComponentType(value)
    except ValueError:
        listed = ", ".join(k.value for k in ComponentType)
        raise ValidationError(field, f"must be one of {listed}") from None


def check_component_name(value: str, field: str = "name") -> str:
    stripped = value.strip()
    if not 1 <= len(stripped) <= COMPONENT_NAME_MAX:
        raise ValidationError(field, f"must be 1 to {COMPONENT_NAME_MAX} characters")
    return stripped


def check_uses(connections: Sequence[str], services: Sequence[str]) -> ComponentUses:
    """Link names, each valid and listed once, in the order given."""
    checked_connections = [
        check_link_name(c, f"connections[{i}]") for i, c in enumerate(connections)
    ]
    checked_services = [check_link_name(s, f"services[{i}]") for i, s in enumerate(services)]
    for field, values in (("connections", checked_connections), ("services", checked_services)):
        if len(set(values)) != len(values):
            raise ValidationError(field, "must not list a link name twice")
    return ComponentUses(tuple(checked_connections), tuple(checked_services))


def check_app_name(value: str) -> str:
    return check_display_name(value, "name")


def check_app_access(connection: Connection, app: App, app_link_names: dict[str, str]) -> None:
    """May ``connection`` serve ``app``? A system connection serves every app of its workspace;
    any other serves exactly one app (SPEC §6). ``app_link_names`` maps app ids to link names,
    for the message."""
    if connection.level is ConnectionLevel.SYSTEM:
        return
    if connection.app_id is not None and connection.app_id != app.id:
        other = app_link_names.get(connection.app_id, connection.app_id)
        raise Conflict(
            f"connection {connection.link_name!r} is enabled for app {other!r}; a connection "
            "serves exactly one app (system connections excepted)",
            {"rule": "one_app_per_connection", "app": other},
        )


def check_access_removable(
    connection: Connection, app: App, *, references: int, locked: bool
) -> None:
    """App access can be disabled only while nothing of the app references the connection and
    it was never published with the app (SPEC §6)."""
    if connection.level is ConnectionLevel.SYSTEM:
        raise Conflict(
            f"connection {connection.link_name!r} is a system connection: it serves every app "
            "that needs its service, and has no app access to disable",
            {"rule": "system_connection_access"},
        )
    if connection.app_id != app.id:
        raise Conflict(
            f"connection {connection.link_name!r} is not enabled for app {app.link_name!r}",
            {"rule": "not_enabled"},
        )
    if references:
        raise Conflict(
            f"connection {connection.link_name!r} is used by {references} component(s) of app "
            f"{app.link_name!r}; its app access cannot be disabled while referenced",
            {"rule": "referenced"},
        )
    if locked:
        raise Conflict(
            f"connection {connection.link_name!r} was published with app {app.link_name!r}; it "
            "stays enabled for it",
            {"rule": "published"},
        )


def copy_link_name(base: str, taken: Iterable[str]) -> str:
    """`<link>_copy`, then `<link>_copy_2`, … : the first free one (SPEC §6 import), kept
    within the 50 characters of a link name."""
    taken_set = set(taken)
    n = 1
    while True:
        suffix = COPY_SUFFIX if n == 1 else f"{COPY_SUFFIX}_{n}"
        candidate = base[: 50 - len(suffix)] + suffix
        if candidate not in taken_set:
            return candidate
        n += 1


def copy_display_name(name: str) -> str:
    """`<old name>_copy`, within the 50 characters of a display name."""
    return name[: 50 - len(COPY_SUFFIX)] + COPY_SUFFIX


def environment_of_copy(kind_is_client: bool) -> Environment:
    """Where an app's components run when it arrives in a workspace: production in a client
    workspace (installed), development in a developer workspace (imported, to be built on)."""
    return Environment.PRODUCTION if kind_is_client else Environment.DEVELOPMENT


@dataclass(frozen=True, slots=True)
class AppToken:
    """An app token's public face: the secret is shown once at creation and stored hashed."""

    id: str
    workspace_id: str
    app_id: str
    name: str
    prefix: str
    created_by: str | None
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
