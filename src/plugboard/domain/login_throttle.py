"""How failed console logins slow down further attempts: per (e-mail, client address), a few
free attempts, then a wait that doubles with each failure up to a maximum. No hard lock-out:
an address that has not failed is never delayed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class LoginFailures:
    count: int
    last_failure_at: datetime
    blocked_until: datetime | None


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    free_attempts: int
    delay: timedelta
    max_delay: timedelta
    window: timedelta  # failures are forgotten after this long without a new one

    def current(self, failures: LoginFailures | None, now: datetime) -> LoginFailures | None:
        """The failures that still count at `now` (None once the window has passed quietly)."""
        if failures is None:
            return None
        blocked = failures.blocked_until is not None and failures.blocked_until > now
        if not blocked and failures.last_failure_at + self.window <= now:
            return None
        return failures

    def wait(self, failures: LoginFailures | None, now: datetime) -> int:
        """Whole seconds before the next attempt may be checked; 0: check it now."""
        if failures is None or failures.blocked_until is None or failures.blocked_until <= now:
            return 0
        return max(1, math.ceil((failures.blocked_until - now).total_seconds()))

    def after_failure(self, failures: LoginFailures | None, now: datetime) -> LoginFailures:
        count = (self.current(failures, now) or LoginFailures(0, now, None)).count + 1
        beyond = count - self.free_attempts
        if beyond < 0:
            return LoginFailures(count, now, None)
        delay = min(self.max_delay, self.delay * 2 ** min(beyond, 32))
        return LoginFailures(count, now, now + delay)
