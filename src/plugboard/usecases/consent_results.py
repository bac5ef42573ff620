"""What the consent flows return: a started consent, a revoke's outcome, a callback's result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["ConsentResult", "ConsentStart", "RevokeOutcome"]


@dataclass(frozen=True, slots=True)
class ConsentStart:
    flow_id: str
    authorize_url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RevokeOutcome:
    authorization_status: str
    primary_warning: str | None
    provider: str  # "revoked", "not called: …", or "failed: …"


@dataclass(frozen=True, slots=True)
class ConsentResult:
    """What the callback page says. `ok` False: nothing was stored."""

    ok: bool
    message: str
    connection: str | None = None
    account_name: str | None = None
    environments: tuple[str, ...] = ()
