"""The console's calls into the identity, session, audit and consent usecases that have no
usecase service yet (connections, authorizations and services have theirs and the views call
them directly). One transaction per call, like a usecase service; no view opens a unit.

"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from plugboard.domain.login_throttle import LoginThrottle
from plugboard.domain.models import ApiToken, Membership, Workspace
from plugboard.domain.oauth import FlowState
from plugboard.domain.permissions import Action, allowed
from plugboard.domain.principal import Principal
from plugboard.errors import NotFound
from plugboard.settings import Settings
from plugboard.usecases import identity, sessions
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.runtime import Runtime

__all__ = [
    "SessionView",
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
    with runtime.unit() as unit:
        return sessions.switch(unit, secret, csrf_token=csrf_token, workspace=workspace_name)


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
