"""What a refresh passes around: its target, its outcome, a journaled attempt, and the error
that says the account must be authorized again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from plugboard.auth.oauth2 import AccessToken
from plugboard.errors import PlugboardError
from plugboard.store.refresh_journal import PendingAttempt

__all__ = ["Attempt", "Outcome", "RefreshRejected", "RefreshTarget"]


class RefreshRejected(PlugboardError):
    """The provider refused the refresh token (or there is none): the account must be
    authorized again. Invoke turns this into AuthorizationRequired for its caller."""

    code = "refresh_rejected"


@dataclass(frozen=True, slots=True)
class RefreshTarget:
    """What a refresh needs besides the account: where and as which OAuth client."""

    account_id: str
    connection: str
    token_url: str
    client_id: str | None
    client_secret: str | None = field(repr=False)
    auth_method: Literal["client_secret_basic", "client_secret_post"]


@dataclass(frozen=True, slots=True)
class Outcome:
    token: AccessToken | None = None
    rejected: str | None = None
    failed: str | None = None
    still_valid: AccessToken | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """A refresh recorded in the journal (phase 1), to be sent in phase 2."""

    id: str
    refresh_token: str = field(repr=False)
    lost: bool  # an earlier attempt with the same refresh token has no stored answer
    earlier: PendingAttempt | None
    still_valid: AccessToken | None
