"""The console's calls into the identity, session, audit and consent usecases that have no
usecase service yet (connections, authorizations and services have theirs and the views call
them directly). One transaction per call, like a usecase service; no view opens a unit.

Switching workspace needs a session in another workspace without a new password: it is made
here from the session repository, mirroring ``usecases.sessions.login`` (its audit entry
included). It belongs in ``usecases/sessions.py`` once that module grows a switch.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from plugboard.domain.login_throttle import LoginThrottle
from plugboard.domain.models import ApiToken, AuditEvent, Membership, Workspace
from plugboard.domain.oauth import FlowState
from plugboard.domain.permissions import Action, allowed, require
from plugboard.domain.principal import Principal, user_principal
from plugboard.domain.tokens import hash_token
from plugboard.errors import AuthenticationFailed, NotFound
from plugboard.settings import Settings
from plugboard.usecases import audit, identity, sessions
from plugboard.usecases.apps import app_for
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.runtime import Runtime

__all__ = [
    "AuditPage",
    "SessionView",
    "app_user_ids",
    "audit_page",
    "consent_state",
    "create_token",
    "list_tokens",
    "log_in",
    "log_out",
    "people",
    "revoke_token",
    "session_view",
    "switch_workspace",
]


@dataclass(frozen=True, slots=True)
class SessionView:
    """Who is looking at the console: the session's principal, its workspace and every
    workspace the same person belongs to (for the switcher)."""

    principal: Principal
    workspace: Workspace
    memberships: tuple[Membership, ...]


def _throttle(settings: Settings) -> LoginThrottle:
    return LoginThrottle(
        free_attempts=settings.login_attempts,
        delay=timedelta(seconds=settings.login_delay_seconds),
        max_delay=timedelta(seconds=settings.login_max_delay_seconds),
        window=timedelta(seconds=settings.login_window_seconds),
    )


def log_in(
    runtime: Runtime, *, email: str, password: str, workspace: str | None, client: str
) -> sessions.NewSession:
    """A new session; a refused login is committed (it counts towards the throttle) before
    its error is raised, exactly as ``POST /session`` does."""
    settings = runtime.settings
    with runtime.unit() as unit:
        new = sessions.login(
            unit, email=email, password=password, workspace=workspace or None,
            lifetime=timedelta(hours=settings.session_hours), throttle=_throttle(settings),
            client=client,
        )  # fmt: skip
    if isinstance(new, sessions.LoginDenied):
        raise new.error
    return new


def log_out(runtime: Runtime, secret: str) -> None:
    with runtime.unit() as unit:
        sessions.logout(unit, secret)


def session_view(
    runtime: Runtime, secret: str, *, csrf_token: str | None, needs_csrf: bool
) -> SessionView:
    """The viewer behind a session cookie. A write must present the session's CSRF token
    (raises AuthenticationFailed otherwise, as for the API)."""
    with runtime.unit(write=False) as unit:
        principal = sessions.authenticate_session(
            unit, secret, csrf_token=csrf_token, needs_csrf=needs_csrf
        )
        workspace = identity.workspace_for(unit, principal, None)
        assert principal.user_id is not None
        memberships = unit.memberships.of_user(principal.user_id)
    ordered = sorted(memberships, key=lambda m: m.workspace.name)
    return SessionView(principal, workspace, tuple(ordered))


def switch_workspace(
    runtime: Runtime, secret: str, csrf_token: str, workspace_name: str
) -> sessions.NewSession:
    """End this session and open one in another workspace the same person belongs to (with
    their role there). Another workspace's name is NotFound, whether it exists or not."""
    with runtime.unit() as unit:
        principal = sessions.authenticate_session(
            unit, secret, csrf_token=csrf_token, needs_csrf=True
        )
        assert principal.user_id is not None
        target = unit.workspaces.find(workspace_name)
        membership = unit.memberships.find(target.id, principal.user_id) if target else None
        if membership is None:
            raise NotFound("workspace", workspace_name)
        old = unit.sessions.by_token_hash(hash_token(secret))
        if old is None:
            raise AuthenticationFailed("your session has ended: log in again")
        now = unit.now()
        unit.sessions.revoke(old.id, now)
        new_secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session = unit.sessions.add(
            token_hash=hash_token(new_secret), csrf_hash=hash_token(csrf),
            workspace_id=membership.workspace.id, user_id=membership.user.id, now=now,
            expires_at=old.expires_at,
        )  # fmt: skip
        switched = user_principal(
            membership.user.id, membership.user.email, membership.workspace.id,
            membership.workspace.kind, membership.role, via="session",
        )  # fmt: skip
        unit.record(
            actor=switched, action="session.switch", object_type="session",
            object_id=session.id, workspace_id=membership.workspace.id,
            detail={"from_workspace": principal.workspace_id},
        )  # fmt: skip
    return sessions.NewSession(new_secret, csrf, session.expires_at, switched)


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditEvent]
    next_before: tuple[datetime, str] | None


# How far a page of the audit log looks for events that match the filters the store cannot
# apply (outcome, actor): at most this many events are read per page shown.
_AUDIT_SCAN = 2000


def audit_page(
    runtime: Runtime,
    actor: Principal,
    *,
    action: str | None,
    outcome: str | None,
    actor_text: str | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> AuditPage:
    """Newest first. ``action`` is filtered by the store; ``outcome`` and ``actor_text`` (a
    substring of the actor) by this page, reading at most a bounded number of events."""
    if not outcome and not actor_text:
        with runtime.unit(write=False) as unit:
            found = audit.list_events(
                unit, actor, action=action or None, before=before, limit=limit + 1
            )
        page = found[:limit]
        more = len(found) > limit
        return AuditPage(page, (page[-1].created_at, page[-1].id) if more and page else None)
    needle = (actor_text or "").casefold()
    kept: list[AuditEvent] = []
    cursor, read = before, 0
    with runtime.unit(write=False) as unit:
        while len(kept) <= limit and read < _AUDIT_SCAN:
            batch = audit.list_events(unit, actor, action=action or None, before=cursor, limit=200)
            if not batch:
                break
            read += len(batch)
            for event in batch:
                if outcome and event.outcome != outcome:
                    continue
                if needle and needle not in event.actor.casefold():
                    continue
                kept.append(event)
            cursor = (batch[-1].created_at, batch[-1].id)
    page = kept[:limit]
    if len(kept) > limit:
        return AuditPage(page, (page[-1].created_at, page[-1].id))
    # Stopped by the scan bound: the next page goes on from the last event read.
    return AuditPage(page, cursor if read >= _AUDIT_SCAN else None)


def list_tokens(runtime: Runtime, actor: Principal) -> list[ApiToken]:
    """The viewer's own API tokens, oldest first."""
    with runtime.unit(write=False) as unit:
        return identity.list_tokens(unit, actor, email=actor.email)


def create_token(runtime: Runtime, actor: Principal, name: str) -> identity.IssuedToken:
    with runtime.unit() as unit:
        return identity.create_token(unit, actor, name=name)


def revoke_token(runtime: Runtime, actor: Principal, token_id: str) -> ApiToken:
    with runtime.unit() as unit:
        return identity.revoke_token(unit, actor, token_id)


def consent_state(
    runtime: Runtime, flows: ConsentFlows, actor: Principal, flow_id: str
) -> tuple[FlowState, str | None, datetime, str]:
    """A consent the viewer started: its state, outcome text, deadline and the link name of
    its connection. Anyone else's is NotFound."""
    with runtime.unit(write=False) as unit:
        flow = unit.flows.by_id(flow_id)
        if flow.initiated_by != actor.user_id:
            raise NotFound("consent", flow_id)
        link_name = unit.connections.by_id(flow.connection_id).link_name
    state, outcome = flows.status(flow_id)
    return state, outcome, flow.expires_at, link_name


def people(runtime: Runtime, actor: Principal) -> dict[str, str]:
    """User id → e-mail of the workspace's members, for "created by" and owners. A role that
    may not list members learns only its own."""
    known = {actor.user_id: actor.email or ""} if actor.user_id else {}
    if not allowed(actor, Action.VIEW_USERS):
        return known
    with runtime.unit(write=False) as unit:
        members = identity.list_members(unit, actor)
    return known | {m.user.id: m.user.email for m in members}


def app_user_ids(runtime: Runtime, actor: Principal, app: str) -> set[str]:
    """The user ids of an app's users (the members granted it), for those who may grant it.
    The Apps service grants and ungrants but does not list them yet."""
    require(actor, Action.GRANT_APPS)
    with runtime.unit(write=False) as unit:
        found = app_for(unit, actor, app)
        return set(unit.apps.granted_users(found.id))
