"""Authorization status transitions (SPEC §5), as data. Every change goes through `transition`,
so an impossible jump is refused and every real one can be audited."""

from __future__ import annotations

from plugboard.domain.models import AuthorizationStatus as S
from plugboard.errors import Conflict

# from → the statuses it may become
# Every status may become not_connected (its service was edited or deleted) and, but for
# connected (a failed attempt to switch accounts keeps the working one), failed: the last
# attempt to link an account failed.
TRANSITIONS: dict[S, frozenset[S]] = {
    S.NOT_CONNECTED: frozenset({S.CONNECTED, S.FAILED, S.NOT_CONNECTED}),
    S.CONNECTED: frozenset(
        {S.CONNECTED, S.EXPIRED, S.REVOKED, S.NEEDS_REAUTH, S.FAILED, S.NOT_CONNECTED}
    ),
    S.EXPIRED: frozenset({S.CONNECTED, S.REVOKED, S.NEEDS_REAUTH, S.FAILED, S.NOT_CONNECTED}),
    S.NEEDS_REAUTH: frozenset({S.CONNECTED, S.REVOKED, S.FAILED, S.NOT_CONNECTED}),
    S.FAILED: frozenset({S.CONNECTED, S.REVOKED, S.FAILED, S.NOT_CONNECTED}),
    S.REVOKED: frozenset({S.CONNECTED, S.FAILED, S.NOT_CONNECTED}),
}


def transition(current: S, new: S) -> S:
    if new not in TRANSITIONS[current]:
        raise Conflict(f"an authorization that is {current.value} cannot become {new.value}")
    return new
