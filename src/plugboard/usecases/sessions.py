"""Console login with e-mail and password: a session cookie plus a CSRF token (SPEC §1, §9)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from plugboard.crypto.passwords import hash_password, verify_password
from plugboard.domain.login_throttle import LoginThrottle
from plugboard.domain.models import Membership
from plugboard.domain.naming import check_email
from plugboard.domain.principal import Principal, user_principal
from plugboard.domain.tokens import hash_token
from plugboard.errors import AuthenticationFailed, NotFound, RateLimited
from plugboard.store.unit import Unit
from plugboard.usecases.identity import DEFAULT_WORKSPACE


@cache
def _dummy_hash() -> str:
    """A hash no password matches, verified when the e-mail is unknown so that both answers
    take the same time. Made when first needed, not at import (a quarter of a second of CPU in
    every process that imports this module); the server makes it as it starts
    (:func:`prepare_logins`), so that no first login's timing differs."""
    return hash_password(secrets.token_urlsafe(16))


def prepare_logins() -> None:
    _dummy_hash()


_INVALID = "invalid e-mail, password or workspace"


@dataclass(frozen=True, slots=True)
class LoginDenied:
    """A refused login. It is audited and counted towards the throttle, so the caller must let
    the unit commit and raise `error` afterwards."""

    error: AuthenticationFailed


@dataclass(frozen=True, slots=True)
class NewSession:
    """Shown once: the cookie value and the CSRF token; only their hashes are stored."""

    secret: str
    csrf_token: str
    expires_at: datetime
    principal: Principal

    def __repr__(self) -> str:
        return f"NewSession(expires_at={self.expires_at!r}, secrets='[shown once]')"


def login(
    unit: Unit,
    *,
    email: str,
    password: str,
    workspace: str | None,
    lifetime: timedelta,
    throttle: LoginThrottle,
    client: str = "",
) -> NewSession | LoginDenied:
    """Check a login. Attempts for one e-mail run one at a time (across processes), and an
    address still waiting after its failures is refused before the password is checked."""
    now = unit.now()
    address = check_email(email)
    client = client[:100]
    unit.login_throttle.lock(address)
    failures = throttle.current(unit.login_throttle.get(address, client), now)
    wait = throttle.wait(failures, now)
    if wait:
        raise RateLimited(
            "too many failed logins for this e-mail from your address; try again later",
            retry_after=wait,
        )
    stored = unit.users.password_hash(address)
    ok = verify_password(stored or _dummy_hash(), password) and stored is not None
    ws = unit.workspaces.find(workspace or DEFAULT_WORKSPACE) if ok else None
    user = unit.users.find(address) if ws else None
    membership = unit.memberships.find(ws.id, user.id) if ws and user else None
    if membership is None:
        unit.login_throttle.save(address, client, throttle.after_failure(failures, now))
        unit.login_throttle.prune(quiet_since=now - throttle.window, now=now)
        unit.record(
            actor=f"login:{address}", action="session.login", object_type="login",
            object_id=address, workspace_id=ws.id if ws else None, outcome="denied",
            detail={"client": client},
        )  # fmt: skip
        return LoginDenied(AuthenticationFailed(_INVALID))
    unit.login_throttle.clear(address, client)
    return _open_session(
        unit, membership, expires_at=now + lifetime, action="session.login",
        detail={"client": client},
    )  # fmt: skip


def switch(unit: Unit, secret: str, *, csrf_token: str, workspace: str) -> NewSession:
    """End this session and open one in another workspace the same person belongs to (with
    their role there), expiring when this one would have. Another workspace's name is
    NotFound, whether it exists or not."""
    principal = authenticate_session(unit, secret, csrf_token=csrf_token, needs_csrf=True)
    assert principal.user_id is not None
    target = unit.workspaces.find(workspace)
    membership = unit.memberships.find(target.id, principal.user_id) if target else None
    if membership is None:
        raise NotFound("workspace", workspace)
    old = unit.sessions.by_token_hash(hash_token(secret))
    if old is None:
        raise AuthenticationFailed("your session has ended: log in again")
    unit.sessions.revoke(old.id, unit.now())
    return _open_session(
        unit, membership, expires_at=old.expires_at, action="session.switch",
        detail={"from_workspace": principal.workspace_id},
    )  # fmt: skip


def _open_session(
    unit: Unit,
    membership: Membership,
    *,
    expires_at: datetime,
    action: str,
    detail: dict[str, object],
) -> NewSession:
    """A new session for a membership, audited under `action`."""
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session = unit.sessions.add(
        token_hash=hash_token(secret), csrf_hash=hash_token(csrf),
        workspace_id=membership.workspace.id, user_id=membership.user.id, now=unit.now(),
        expires_at=expires_at,
    )  # fmt: skip
    principal = user_principal(
        membership.user.id, membership.user.email, membership.workspace.id,
        membership.workspace.kind, membership.role, via="session",
    )  # fmt: skip
    unit.record(
        actor=principal, action=action, object_type="session",
        object_id=session.id, workspace_id=membership.workspace.id, detail=detail,
    )  # fmt: skip
    return NewSession(secret, csrf, session.expires_at, principal)


def authenticate_session(
    unit: Unit, secret: str, *, csrf_token: str | None, needs_csrf: bool
) -> Principal:
    """The principal behind a session cookie; a write must also present its CSRF token."""
    session = unit.sessions.by_token_hash(hash_token(secret))
    if session is None or session.revoked_at is not None or session.expires_at <= unit.now():
        raise AuthenticationFailed("your session has ended: log in again")
    if needs_csrf and not (
        csrf_token and hmac.compare_digest(hash_token(csrf_token), session.csrf_hash)
    ):
        raise AuthenticationFailed("missing or wrong X-CSRF-Token header for a cookie session")
    membership = unit.memberships.find(session.workspace_id, session.user_id)
    if membership is None:
        raise AuthenticationFailed("your session has ended: log in again")
    return user_principal(
        membership.user.id, membership.user.email, membership.workspace.id,
        membership.workspace.kind, membership.role, via="session",
    )  # fmt: skip


def logout(unit: Unit, secret: str) -> None:
    session = unit.sessions.by_token_hash(hash_token(secret))
    if session is not None:
        unit.sessions.revoke(session.id, unit.now())
