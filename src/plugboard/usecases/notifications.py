"""Telling the right person (SPEC §5): events become notifications, and a person reads them.

:func:`dispatch_events` is the outbox's ``notifications`` consumer: for each authorization event
that needs a person it adds one notification per person who can act (domain/events.py), unless
they muted the connection; the unique (event, person) constraint makes a second run add nothing.
A notification says what happened and carries a link to the console page that authorizes
exactly that connection and environment, as the person who must act. Its text is made of names,
statuses and the provider's error -- never a credential.

:class:`Notifications` is the usecase service bound to (runtime, actor): list, mark read, mute.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote, urlencode

from plugboard.domain.events import (
    EXPLANATIONS,
    TITLES,
    AuthorizationEvent,
    EventType,
    Member,
    recipients,
)
from plugboard.domain.models import ConnectionLevel, WorkspaceKind
from plugboard.domain.permissions import MATRIX, manage_authorization_action
from plugboard.domain.principal import Principal
from plugboard.errors import NotFound, PermissionDenied, ValidationError
from plugboard.records.notifications import MuteInfo, NotificationInfo, NotificationPage
from plugboard.store.events import StoredEvent
from plugboard.store.notifications import StoredNotification
from plugboard.store.unit import Unit
from plugboard.usecases.connections import get_connection
from plugboard.usecases.paging import keyset_page
from plugboard.usecases.runtime import Runtime

__all__ = ["CONSUMER", "Notifications", "authorize_link", "dispatch_events"]

CONSUMER = "notifications"
_ID = re.compile(r"ntf_[0-9a-f]{16,40}")
CONSOLE = "/console"


def authorize_link(base_url: str, workspace: str, connection: str, environment: str | None) -> str:
    """The console page that authorizes ``connection`` in ``environment`` (the viewer authorizes
    as themselves, which for a user-level connection is the person told)."""
    query = urlencode({"environment": environment or "all", "workspace": workspace})
    return f"{base_url}{CONSOLE}/connections/{quote(connection, safe='')}/authorize?{query}"


def dispatch_events(runtime: Runtime, *, limit: int = 200) -> int:
    """Process the pending events (one transaction); returns how many notifications it added."""
    with runtime.unit() as unit:
        now = unit.now()
        pending = unit.events.pending(CONSUMER, now, limit=limit)
        added = sum(_notify(unit, runtime, event, now) for event in pending)
        unit.events.mark_processed(CONSUMER, [e.id for e in pending], now)
    return added


def _notify(unit: Unit, runtime: Runtime, event: StoredEvent, now: datetime) -> int:
    if not event.type.startswith("authorization.") or event.connection_id is None:
        return 0
    payload = event.payload
    level = ConnectionLevel(payload["level"])
    what = AuthorizationEvent.of(event.type, level, event.user_id, payload)
    workspace = unit.workspaces.by_id(event.workspace_id)
    members = [Member(m.user.id, m.role) for m in unit.memberships.of_workspace(event.workspace_id)]
    people = _who_can_fix(unit, event, level, workspace.kind, members, recipients(
        what, workspace.kind, members))  # fmt: skip
    if not people:
        return 0
    connection = payload.get("connection_name") or payload["connection"]
    title = TITLES[what.type].format(connection=connection)
    body = _body(what.type, payload, event.environment)
    link = authorize_link(
        runtime.settings.base_url, workspace.name, payload["connection"], event.environment
    )
    email = runtime.settings.smtp_url is not None
    added = 0
    for user_id in people:
        if unit.notifications.is_muted(user_id, event.connection_id):
            continue
        added += unit.notifications.add(
            workspace_id=event.workspace_id, user_id=user_id, event_id=event.id,
            kind=event.type, connection_id=event.connection_id,
            environment=event.environment, owner_user_id=event.user_id, title=title,
            body=body, link=link, email=email, now=now,
        )  # fmt: skip
    return added


def _who_can_fix(
    unit: Unit,
    event: StoredEvent,
    level: ConnectionLevel,
    kind: WorkspaceKind,
    members: Sequence[Member],
    people: Sequence[str],
) -> builtins.list[str]:
    """Of those allowed to authorize, the ones who can fix it now: an authorization that still
    holds its account (expired, needs_reauth) is authorized again by a consent that replaces
    that account -- a switch (check_may_replace), which needs the switch permission too (in a
    developer workspace an admin may authorize but not switch a shared authorization)."""
    if level is ConnectionLevel.USER or event.connection_id is None:
        return list(people)
    try:
        row = unit.authorizations.get(event.connection_id, event.environment or "all", None)
    except NotFound:
        return list(people)
    if row.summary.account_id is None:
        return list(people)
    switchers = MATRIX[manage_authorization_action(level)][kind]
    roles = {m.user_id: m.role for m in members}
    return [p for p in people if roles.get(p) in switchers]


def _body(kind: EventType, payload: dict[str, object], environment: str | None) -> str:
    where = "every environment" if environment in (None, "all") else f"{environment}"
    parts = [
        f"Connection {payload['connection']} ({payload.get('service')}), {where}.",
        EXPLANATIONS[kind],
    ]
    if kind is EventType.AUTHORIZATION_REVOKED and payload.get("was_primary"):
        parts.append(
            "It was the primary account: schedules and datasources that run without a user "
            "have no account until a super admin authorizes again or marks another primary."
        )
    detail = payload.get("detail")
    if detail:
        parts.append(f"Reason: {detail}")
    return " ".join(parts)


def _info(stored: StoredNotification, connection: str | None) -> NotificationInfo:
    return NotificationInfo(
        id=stored.id, kind=stored.kind, title=stored.title, body=stored.body,
        link=stored.link, connection=connection, environment=stored.environment,
        created_at=stored.created_at, read=stored.read_at is not None,
        email_status=stored.email_status,
    )  # fmt: skip


class Notifications:
    """A person's notifications in their workspace; each call owns its transaction."""

    def __init__(self, runtime: Runtime, actor: Principal) -> None:
        self._runtime = runtime
        self._actor = actor

    def _person(self) -> tuple[str, str]:
        if self._actor.user_id is None or self._actor.workspace_id is None:
            raise PermissionDenied(
                "read notifications", self._actor.role,
                "notifications belong to a member: act as one (--as, a session or an API token)",
            )  # fmt: skip
        return self._actor.user_id, self._actor.workspace_id

    def unread_count(self) -> int:
        """How many of the person's notices are unread (the console's badge)."""
        user_id, workspace_id = self._person()
        with self._runtime.unit(write=False) as unit:
            return unit.notifications.unread_count(user_id, workspace_id)

    def list(
        self, *, unread_only: bool = False, limit: int = 50, cursor: str | None = None
    ) -> NotificationPage:
        user_id, workspace_id = self._person()
        before = None
        if cursor:
            at, _, last = cursor.partition("|")
            try:
                before = (datetime.fromisoformat(at), last)
            except ValueError:
                before = None
            if before is None or not _ID.fullmatch(last):
                raise ValidationError("cursor", "is not a cursor this list gave")
        size = max(1, min(limit, 200))
        with self._runtime.unit(write=False) as unit:
            found = keyset_page(
                unit.notifications.of_user(
                    user_id, workspace_id, unread_only=unread_only, before=before,
                    limit=size + 1,  # one past the page: another follows
                ),
                size,
                lambda r: f"{r.created_at.isoformat()}|{r.id}",
            )  # fmt: skip
            names = unit.connections.link_names_of(
                {r.connection_id for r in found.items if r.connection_id}
            )
            unread = unit.notifications.unread_count(user_id, workspace_id)
        items = [_info(r, names.get(r.connection_id or "")) for r in found.items]
        return NotificationPage(items=items, unread=unread, next_cursor=found.next_key)

    def mark_read(self, ids: Sequence[str] | None = None) -> int:
        """Mark these notifications read (all of the person's when ``ids`` is None)."""
        user_id, workspace_id = self._person()
        if ids is not None:  # anything else is nobody's notification
            ids = [i for i in ids if _ID.fullmatch(i)]
        with self._runtime.unit() as unit:
            return unit.notifications.mark_read(user_id, workspace_id, ids, unit.now())

    def _connection_id(self, unit: Unit, link_name: str) -> str:
        """A connection the person may see (one they may not is not found)."""
        return get_connection(unit, self._actor, link_name).id

    def mute(self, connection: str) -> MuteInfo:
        user_id, workspace_id = self._person()
        with self._runtime.unit() as unit:
            unit.notifications.mute(
                user_id, self._connection_id(unit, connection), workspace_id, unit.now()
            )
        return MuteInfo(connection=connection, muted=True)

    def unmute(self, connection: str) -> MuteInfo:
        user_id, _ = self._person()
        with self._runtime.unit() as unit:
            unit.notifications.unmute(user_id, self._connection_id(unit, connection))
        return MuteInfo(connection=connection, muted=False)

    def muted(self) -> builtins.list[MuteInfo]:
        user_id, workspace_id = self._person()
        with self._runtime.unit(write=False) as unit:
            ids = set(unit.notifications.muted_connections(user_id, workspace_id))
            names = sorted(
                c.link_name for c in unit.connections.of_workspace(workspace_id) if c.id in ids
            )
        return [MuteInfo(connection=n, muted=True) for n in names]
