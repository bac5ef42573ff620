"""Events (SPEC §11) and who must be told about them (SPEC §5 "Telling the right person").

Pure rules: the event types, which of them need a person, and the people who can act on one,
chosen from the workspace's members by the permission matrix.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from plugboard.domain.models import ConnectionLevel, Role, WorkspaceKind
from plugboard.domain.permissions import MATRIX, authorize_action


class EventType(enum.StrEnum):
    AUTHORIZATION_CONNECTED = "authorization.connected"
    AUTHORIZATION_REFRESH_FAILED = "authorization.refresh_failed"
    AUTHORIZATION_EXPIRED = "authorization.expired"
    AUTHORIZATION_REVOKED = "authorization.revoked"
    AUTHORIZATION_NEEDS_REAUTH = "authorization.needs_reauth"
    AUTHORIZATION_FAILED = "authorization.failed"
    # A component needed an authorization that does not exist (SPEC §5 "Telling the right
    # person"): an app's invoke found none for the connection, environment and user.
    AUTHORIZATION_REQUIRED = "authorization.required"
    CONNECTION_CREATED = "connection.created"
    CONNECTION_DELETED = "connection.deleted"
    APP_PUBLISHED = "app.published"
    APP_INSTALLED = "app.installed"
    SYNC_COMPLETED = "sync.completed"
    SYNC_FAILED = "sync.failed"


# The authorization became unusable: whoever can authorize it again must hear of it.
_BROKEN = frozenset(
    {
        EventType.AUTHORIZATION_EXPIRED,
        EventType.AUTHORIZATION_NEEDS_REAUTH,
        EventType.AUTHORIZATION_FAILED,
        EventType.AUTHORIZATION_REQUIRED,
    }
)


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    role: Role


@dataclass(frozen=True, slots=True)
class AuthorizationEvent:
    """What the recipient rule needs to know about an event on an authorization."""

    type: EventType
    level: ConnectionLevel
    owner_user_id: str | None
    # A revocation by a person who could act anyway (they revoked their own) tells nobody; one
    # by the provider or of the primary account does.
    by_provider: bool = False
    was_primary: bool = False
    actor_user_id: str | None = None

    @classmethod
    def of(
        cls, type_: str, level: ConnectionLevel, owner: str | None, payload: Mapping[str, Any]
    ) -> AuthorizationEvent:
        return cls(
            EventType(type_),
            level,
            owner,
            by_provider=bool(payload.get("by_provider")),
            was_primary=bool(payload.get("was_primary")),
            actor_user_id=payload.get("actor_user_id"),
        )


def needs_a_person(event: AuthorizationEvent) -> bool:
    if event.type in _BROKEN:
        return True
    if event.type is EventType.AUTHORIZATION_REVOKED:
        return event.by_provider or event.was_primary
    return False


def may_authorize(kind: WorkspaceKind, role: Role, level: ConnectionLevel) -> bool:
    """Whether a member of this role may authorize a connection of this level (the matrix)."""
    return role in MATRIX[authorize_action(level)][kind]


def recipients(
    event: AuthorizationEvent, kind: WorkspaceKind, members: Iterable[Member]
) -> list[str]:
    """The user ids to notify, sorted: admin/system level, the members allowed to authorize it;
    user level, the authorization's owner, and the super admins when the primary is lost."""
    if not needs_a_person(event):
        return []
    chosen: set[str] = set()
    members = list(members)
    if event.level is ConnectionLevel.USER:
        if event.owner_user_id is not None and any(
            m.user_id == event.owner_user_id for m in members
        ):
            chosen.add(event.owner_user_id)
        if event.was_primary:
            chosen.update(m.user_id for m in members if m.role is Role.SUPER_ADMIN)
    else:
        chosen.update(m.user_id for m in members if may_authorize(kind, m.role, event.level))
    if event.type is EventType.AUTHORIZATION_REVOKED and not event.by_provider:
        # Whoever revoked it knows; the others who can act are told.
        chosen.discard(event.actor_user_id or "")
    return sorted(chosen)


TITLES: Mapping[EventType, str] = {
    EventType.AUTHORIZATION_EXPIRED: "The authorization of {connection} has expired",
    EventType.AUTHORIZATION_NEEDS_REAUTH: "{connection} needs to be authorized again",
    EventType.AUTHORIZATION_FAILED: "Authorizing {connection} failed",
    EventType.AUTHORIZATION_REVOKED: "The authorization of {connection} was revoked",
    EventType.AUTHORIZATION_REQUIRED: "{connection} needs to be authorized",
}

EXPLANATIONS: Mapping[EventType, str] = {
    EventType.AUTHORIZATION_EXPIRED: "The provider no longer accepts its refresh token, so "
    "calls through this connection fail until someone authorizes it again.",
    EventType.AUTHORIZATION_NEEDS_REAUTH: "Its scopes changed: the account must grant them "
    "before the connection works again.",
    EventType.AUTHORIZATION_FAILED: "The last attempt to link an account failed.",
    EventType.AUTHORIZATION_REVOKED: "Calls through this connection fail until someone "
    "authorizes it again.",
    EventType.AUTHORIZATION_REQUIRED: "An app's component uses it, but it has no "
    "authorization here yet, so the component's calls fail until someone authorizes it.",
}

ALL_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
