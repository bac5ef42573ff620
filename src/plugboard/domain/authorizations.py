"""Pure rules about authorizations (SPEC §4, §5, §7): which one serves an environment, who must
act when none is usable, who may authorize, and when an OAuth 2 token needs a refresh.

Nothing here does I/O; times come in as arguments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from plugboard.domain.credentials import OAuth2Credential
from plugboard.domain.models import (
    ALL_ENVIRONMENTS,
    AuthorizationStatus,
    ConnectionLevel,
    Environment,
    Role,
    WorkspaceKind,
    environments_of,
)
from plugboard.domain.permissions import MATRIX, Action, allowed, authorize_action
from plugboard.domain.principal import Principal
from plugboard.errors import ValidationError

__all__ = [
    "AUTHORIZERS",
    "TokenGrant",
    "check_environment",
    "cooldown_remaining",
    "default_environment",
    "environment_key",
    "is_stale",
    "may_authorize",
    "merge_grant",
    "oauth_error",
    "parse_token_response",
    "unusable_reason",
    "usable",
    "who_must_act",
]

# Who may authorize an admin or system connection (SPEC §4).
# The matrix gives both workspace kinds the same authorizers (a test checks it).
AUTHORIZERS = MATRIX[Action.AUTHORIZE_SHARED][WorkspaceKind.DEVELOPER]


def default_environment(kind: WorkspaceKind) -> Environment:
    """Client workspaces run installed apps in production; developers test in development."""
    return Environment.PRODUCTION if kind is WorkspaceKind.CLIENT else Environment.DEVELOPMENT


def check_environment(kind: WorkspaceKind, environment: str) -> Environment:
    try:
        env = Environment(environment)
    except ValueError:
        raise ValidationError(
            "environment", f"must be one of {', '.join(e.value for e in Environment)}"
        ) from None
    if env not in environments_of(kind):
        raise ValidationError("environment", f"a {kind.value} workspace only has production")
    return env


def environment_key(per_environment: bool, environment: Environment) -> str:
    """The environment an authorization is stored under: its own, or ``all`` (SPEC §5)."""
    return environment.value if per_environment else ALL_ENVIRONMENTS


def usable(status: AuthorizationStatus) -> bool:
    return status is AuthorizationStatus.CONNECTED


_REASONS = {
    AuthorizationStatus.NOT_CONNECTED: "not authorized yet",
    AuthorizationStatus.EXPIRED: "the authorization expired",
    AuthorizationStatus.REVOKED: "the authorization was revoked",
    AuthorizationStatus.NEEDS_REAUTH: "the authorization must be granted again",
    AuthorizationStatus.FAILED: "the authorization failed",
}


def unusable_reason(status: AuthorizationStatus | None, detail: str | None = None) -> str:
    if status is None:
        return "not authorized yet"
    reason = _REASONS.get(status, status.value)
    return f"{reason}: {detail}" if detail else reason


def _can_authorize_shared(role: Role | None, is_operator: bool) -> bool:
    return is_operator or role in AUTHORIZERS


def who_must_act(
    level: ConnectionLevel,
    *,
    role: Role | None,
    is_operator: bool,
    for_user: bool,
) -> str:
    """The sentence SPEC §7 asks for, addressed to whoever made the call.

    ``role`` is the role of the person the invoke runs for (the calling user, or the principal);
    ``for_user`` says whether a user was present (without one, a user-level connection uses the
    primary account).
    """
    if level is ConnectionLevel.USER:
        if for_user:
            return (
                "you must authorize this connection for yourself (it uses each user's own account)"
            )
        if is_operator or role is Role.SUPER_ADMIN:
            return (
                "no primary account: you can authorize it as a super admin, and the first super "
                "admin to authorize becomes the primary account"
            )
        return "no primary account: contact your admin; a super admin must authorize it first"
    if _can_authorize_shared(role, is_operator):
        return "an admin must authorize this connection: you can authorize it"
    return "contact your admin: an admin must authorize this connection"


def may_authorize(actor: Principal, level: ConnectionLevel, owner_user_id: str | None) -> bool:
    """The matrix's authorize rule: shared connections by role, user-level ones only by their
    owner (the operator may store for anyone)."""
    if actor.is_operator:
        return True
    if not allowed(actor, authorize_action(level)):
        return False
    return level is not ConnectionLevel.USER or (
        owner_user_id is not None and owner_user_id == actor.user_id
    )


# --- OAuth 2 tokens --------------------------------------------------------------------------


def is_stale(expires_at: datetime | None, now: datetime, skew_seconds: float) -> bool:
    """Whether a token expiring at ``expires_at`` should be refreshed before use.

    A token without a known expiry is used until the provider rejects it.
    """
    if expires_at is None:
        return False
    return expires_at - timedelta(seconds=skew_seconds) <= now


def cooldown_remaining(failed_at: datetime | None, now: datetime, cooldown_seconds: float) -> float:
    """Seconds until a failed refresh may be attempted again (0 when it may be now)."""
    if failed_at is None:
        return 0.0
    left = (failed_at + timedelta(seconds=cooldown_seconds) - now).total_seconds()
    return max(0.0, left)


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A token endpoint's successful answer (RFC 6749 §5.1)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    scope: str | None
    expires_at: datetime | None


def oauth_error(data: Any) -> str | None:
    """The ``error`` code of an RFC 6749 §5.2 error response, if ``data`` is one."""
    if isinstance(data, Mapping):
        error = data.get("error")
        if isinstance(error, str) and error:
            return error[:100]
    return None


def parse_token_response(data: Any, now: datetime) -> TokenGrant:
    """Read a successful token response; ValidationError names the field that is wrong."""
    if not isinstance(data, Mapping):
        raise ValidationError("token_response", "must be a JSON object")
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise ValidationError("token_response.access_token", "is missing")
    refresh = data.get("refresh_token")
    if refresh is not None and (not isinstance(refresh, str) or not refresh):
        refresh = None
    token_type = data.get("token_type")
    scope = data.get("scope")
    expires_at: datetime | None = None
    expires_in = data.get("expires_in")
    if isinstance(expires_in, str) and expires_in.strip().isdigit():
        expires_in = int(expires_in.strip())
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        if math.isfinite(expires_in) and expires_in > 0:
            expires_at = now + timedelta(seconds=float(expires_in))
    return TokenGrant(
        access_token=access,
        refresh_token=refresh,
        token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
        scope=scope if isinstance(scope, str) else None,
        expires_at=expires_at,
    )


def merge_grant(old: OAuth2Credential, grant: TokenGrant) -> OAuth2Credential:
    """The credential after a refresh: a rotated refresh token replaces the old one, and a
    response without one keeps it (RFC 6749 §6)."""
    return OAuth2Credential(
        access_token=grant.access_token,
        refresh_token=grant.refresh_token or old.refresh_token,
        token_type=grant.token_type,
        scope=grant.scope if grant.scope is not None else old.scope,
    )
