"""App tokens (`pba_…`): app code calls Plugboard as the app, not as a member (SPEC §6).

An app token is bound to one app in one workspace. It invokes that app's connections on behalf
of the member who runs the component (`as_user`), or with the primary account when no user is
named; it sees only its own app. Like API tokens, the secret is shown once and stored hashed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from plugboard.domain.apps import AppToken
from plugboard.domain.permissions import Action, require
from plugboard.domain.principal import Principal, app_principal
from plugboard.domain.tokens import hash_token
from plugboard.errors import AuthenticationFailed, NotFound, ValidationError
from plugboard.store.unit import Unit
from plugboard.usecases import identity
from plugboard.usecases.apps import audit
from plugboard.usecases.identity import workspace_for

APP_TOKEN_PREFIX = "pba_"


@dataclass(frozen=True, slots=True)
class IssuedAppToken:
    token: AppToken
    secret: str

    def __repr__(self) -> str:
        return f"IssuedAppToken(token={self.token!r}, secret='[shown once]')"


def new_app_token() -> str:
    return APP_TOKEN_PREFIX + secrets.token_urlsafe(30)


def create_app_token(
    unit: Unit,
    actor: Principal,
    app_link_name: str,
    *,
    name: str = "app",
    workspace: str | None = None,
) -> IssuedAppToken:
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_APP_TOKENS)
    app = unit.apps.get(ws.id, app_link_name)
    token_name = name.strip()
    if not 1 <= len(token_name) <= 100:
        raise ValidationError("name", "must be 1 to 100 characters")
    secret = new_app_token()
    token = unit.app_tokens.add(
        workspace_id=ws.id, app_id=app.id, name=token_name, token_hash=hash_token(secret),
        prefix=secret[: len(APP_TOKEN_PREFIX) + 6], actor_id=actor.user_id, now=unit.now(),
    )  # fmt: skip
    audit(unit, actor, "app_token.create", app, {"name": token_name, "token": token.id})
    return IssuedAppToken(token, secret)


def list_app_tokens(
    unit: Unit, actor: Principal, app_link_name: str, *, workspace: str | None = None
) -> list[AppToken]:
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_APP_TOKENS)
    return unit.app_tokens.of_app(unit.apps.get(ws.id, app_link_name).id)


def revoke_app_token(
    unit: Unit, actor: Principal, app_link_name: str, token_id: str, *, workspace: str | None
) -> AppToken:
    ws = workspace_for(unit, actor, workspace)
    require(actor, Action.MANAGE_APP_TOKENS)
    app = unit.apps.get(ws.id, app_link_name)
    try:
        token = unit.app_tokens.by_id(token_id)
    except NotFound:
        raise NotFound("app token", token_id) from None
    if token.app_id != app.id:
        raise NotFound("app token", token_id)
    unit.app_tokens.revoke(token.id, unit.now())
    audit(unit, actor, "app_token.revoke", app, {"token": token.id})
    return unit.app_tokens.by_id(token.id)


def authenticate(unit: Unit, secret: str, *, via: str = "api") -> Principal:
    """The principal behind any bearer token: an app token acts as its app, an API token as
    its member. One message for every failure, so nothing tells which part was wrong."""
    if not secret.startswith(APP_TOKEN_PREFIX):
        return identity.authenticate_token(unit, secret, via=via)
    token = unit.app_tokens.by_hash(hash_token(secret))
    if token is None or not token.active:
        raise AuthenticationFailed("invalid or revoked API token")
    app = unit.apps.by_id(token.app_id)
    ws = unit.workspaces.by_id(token.workspace_id)
    return app_principal(
        app.id, app.link_name, ws.id, ws.kind, token_id=token.id,
        token_last_used_at=token.last_used_at, via=via,
    )  # fmt: skip


def note_use(unit: Unit, principal: Principal) -> None:
    """Stamp a token's last use (callers do it at most once a minute)."""
    if principal.is_app and principal.token_id is not None:
        unit.app_tokens.touch(principal.token_id, unit.now())
    else:
        identity.note_token_use(unit, principal)
