"""Webhooks (SPEC §11): the pure rules -- which URLs an endpoint may have, which events it
wants, its secrets and their rotation overlap, and when a failed delivery is tried again.

No I/O: signing and sending are in usecases/webhook_delivery.py.
"""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from plugboard.domain.events import ALL_TYPES
from plugboard.domain.origins import parse_origin
from plugboard.errors import ValidationError

__all__ = [
    "ALL_EVENTS",
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "DEFAULT_OVERLAP",
    "RETRY_WINDOW",
    "SECRET_PREFIX",
    "EndpointSecrets",
    "backoff_delay",
    "check_event_types",
    "check_url",
    "new_secret",
    "wants",
]

SECRET_PREFIX = "whsec_"
ALL_EVENTS = "*"
# A delivery is tried again, with exponential backoff and jitter, for a day after it was made
# (or replayed); then it is given up.
RETRY_WINDOW = timedelta(hours=24)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)
# How long the previous secret still signs after a rotation, unless the caller says otherwise.
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
_SECRET_BYTES = 32


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


@dataclass(frozen=True, slots=True)
class EndpointSecrets:
    """The current secret and, during a rotation's overlap, the previous one."""

    current: str = field(repr=False)
    previous: str | None = field(default=None, repr=False)

    def signing(self, now: datetime, previous_valid_until: datetime | None) -> list[str]:
        """The secrets a message made at ``now`` is signed with: both during the overlap."""
        if self.previous and previous_valid_until is not None and now < previous_valid_until:
            return [self.current, self.previous]
        return [self.current]

    def as_data(self) -> dict[str, str | None]:
        return {"current": self.current, "previous": self.previous}

    @classmethod
    def of(cls, data: dict[str, object]) -> EndpointSecrets:
        previous = data.get("previous")
        return cls(str(data["current"]), str(previous) if previous else None)


def check_url(url: str, http_hosts: Collection[str]) -> str:
    """An endpoint URL: https, or plain http only for a host in ``PLUGBOARD_ALLOW_HTTP_HOSTS``
    (development and tests), with no user info. Where it points is checked by the outbound
    guard at every attempt (DNS may change), not here."""
    url = url.strip()
    origin = parse_origin(url)
    if origin is None or len(url) > 2000:
        raise ValidationError("url", "must be an absolute https URL without user info")
    if origin.scheme != "https":
        allowed = {h.lower().rstrip(".") for h in http_hosts}
        if "*" not in allowed and origin.host not in allowed:
            raise ValidationError(
                "url", "must be https (plain http only for hosts in PLUGBOARD_ALLOW_HTTP_HOSTS)"
            )
    return url


def check_event_types(types: Sequence[str] | None) -> list[str]:
    """The event types an endpoint wants: known types, or ``["*"]`` for every type."""
    chosen = [t.strip() for t in (types or [ALL_EVENTS]) if t.strip()]
    if not chosen or ALL_EVENTS in chosen:
        return [ALL_EVENTS]
    unknown = sorted(set(chosen) - set(ALL_TYPES))
    if unknown:
        raise ValidationError(
            "events", f"unknown event types {', '.join(unknown)}; known: {', '.join(ALL_TYPES)}"
        )
    return sorted(set(chosen))


def wants(event_types: Sequence[str], event_type: str) -> bool:
    return ALL_EVENTS in event_types or event_type in event_types


def check_overlap(seconds: float | None) -> timedelta:
    if seconds is None:
        return DEFAULT_OVERLAP
    overlap = timedelta(seconds=seconds)
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise ValidationError("overlap_seconds", "must be between 0 and 7 days")
    return overlap


def backoff_delay(failed_attempts: int, rng: random.Random | None = None) -> timedelta:
    """The pause after the ``failed_attempts``-th failure: 30 s doubled each time up to two
    hours, with jitter -- a random point in the upper half of that pause, so receivers that
    failed together are not all tried again at the same instant."""
    exponent = max(0, failed_attempts - 1)
    full = min(BACKOFF_BASE * (2**exponent), BACKOFF_CAP) if exponent < 20 else BACKOFF_CAP
    fraction = 0.5 + 0.5 * (rng or random).random()  # noqa: S311 - jitter, not a secret
    return full * fraction
