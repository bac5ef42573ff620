"""Failed console logins per (e-mail, client address), and the per-e-mail lock that makes
checking and counting them one step across every process sharing the database."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, delete, select, text, update

from plugboard.domain.login_throttle import LoginFailures
from plugboard.store.tables import login_throttle


def _lock_key(email: str) -> int:
    """A signed 64-bit advisory lock key for the e-mail."""
    digest = hashlib.sha256(b"plugboard.login:" + email.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LoginThrottleRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def lock(self, email: str) -> None:
        """Serialize logins for this e-mail until the transaction ends. PostgreSQL: an advisory
        transaction lock. SQLite: a write transaction already holds the database's write lock
        (BEGIN IMMEDIATE), which serializes every login."""
        if self._conn.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            self._conn.execute(lock, {"key": _lock_key(email)})

    def get(self, email: str, address: str) -> LoginFailures | None:
        row = self._conn.execute(
            select(login_throttle).where(
                login_throttle.c.email == email, login_throttle.c.address == address
            )
        ).first()
        if row is None:
            return None
        return LoginFailures(row.failures, row.last_failure_at, row.blocked_until)

    def save(self, email: str, address: str, failures: LoginFailures) -> None:
        values = {
            "failures": failures.count,
            "last_failure_at": failures.last_failure_at,
            "blocked_until": failures.blocked_until,
        }
        updated = self._conn.execute(
            update(login_throttle)
            .where(login_throttle.c.email == email, login_throttle.c.address == address)
            .values(**values)
        )
        if updated.rowcount == 0:
            self._conn.execute(
                login_throttle.insert().values(email=email, address=address, **values)
            )

    def clear(self, email: str, address: str) -> None:
        self._conn.execute(
            delete(login_throttle).where(
                login_throttle.c.email == email, login_throttle.c.address == address
            )
        )

    def prune(self, *, quiet_since: datetime, now: datetime) -> None:
        """Forget every (e-mail, address) with no failure since `quiet_since` and no delay left,
        so guesses at many e-mails do not pile up rows."""
        self._conn.execute(
            delete(login_throttle).where(
                login_throttle.c.last_failure_at < quiet_since,
                login_throttle.c.blocked_until.is_(None) | (login_throttle.c.blocked_until <= now),
            )
        )
