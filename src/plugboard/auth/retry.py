"""Automatic retries of idempotent requests (issue 4 "Retries").

Only idempotent methods (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE) are retried,
and only when the request may simply not have been processed: a connection error, or a
429/503 answer. The delay is exponential backoff with full jitter, never less than the
answer's ``Retry-After`` (seconds or an HTTP date); retries stop at ``max_attempts`` or when
the next attempt would start after ``max_seconds`` from the first, and the last answer (or
error) is what the caller gets. Other methods are sent exactly once.

Each attempt calls ``send`` again, so the request is rebuilt and re-authenticated (a fresh
OAuth 1 nonce, a new SigV4 date) rather than replayed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import anyio
import httpx2

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "RetryPolicy",
    "asend_with_retries",
    "backoff_delay",
    "next_delay",
    "parse_retry_after",
    "send_with_retries",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 503})
# Errors that mean "the request did not get through": safe to repeat for idempotent methods.
RETRYABLE_ERRORS: tuple[type[httpx2.TransportError], ...] = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.RemoteProtocolError,
    httpx2.ReadError,
    httpx2.WriteError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    max_seconds: float = 30.0
    base_delay: float = 0.2
    max_delay: float = 10.0

    def applies_to(self, method: str) -> bool:
        return self.max_attempts > 1 and method.upper() in IDEMPOTENT_METHODS


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` value, or None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, float((when - (now or datetime.now(UTC))).total_seconds()))


def backoff_delay(attempt: int, policy: RetryPolicy, rng: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(max_delay, base_delay * 2^(attempt-1))]."""
    cap = min(policy.max_delay, policy.base_delay * 2.0 ** (attempt - 1))
    return cap * rng()


def next_delay(
    policy: RetryPolicy,
    attempt: int,
    elapsed: float,
    retry_after: float | None,
    rng: Callable[[], float] = random.random,
) -> float | None:
    """The pause before attempt ``attempt + 1``, or None when no further attempt is allowed."""
    if attempt >= policy.max_attempts:
        return None
    delay = backoff_delay(attempt, policy, rng)
    if retry_after is not None:
        delay = max(delay, retry_after)
    if elapsed + delay > policy.max_seconds:
        return None
    return delay


def _verdict(
    outcome: httpx2.Response | Exception,
) -> tuple[bool, float | None]:
    """(retryable, Retry-After seconds)."""
    if isinstance(outcome, Exception):
        return isinstance(outcome, RETRYABLE_ERRORS), None
    if outcome.status_code in RETRY_STATUSES:
        return True, parse_retry_after(outcome.headers.get("retry-after"))
    return False, None


def send_with_retries(
    send: Callable[[], httpx2.Response],
    method: str,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
) -> httpx2.Response:
    if not policy.applies_to(method):
        return send()
    start = monotonic()
    attempt = 0
    while True:
        attempt += 1
        outcome: httpx2.Response | Exception
        try:
            outcome = send()
        except httpx2.TransportError as exc:
            outcome = exc
        retryable, retry_after = _verdict(outcome)
        delay = next_delay(policy, attempt, monotonic() - start, retry_after, rng)
        if not retryable or delay is None:
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        if isinstance(outcome, httpx2.Response):
            outcome.close()
        sleep(delay)


async def asend_with_retries(
    send: Callable[[], Awaitable[httpx2.Response]],
    method: str,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
) -> httpx2.Response:
    if not policy.applies_to(method):
        return await send()
    start = monotonic()
    attempt = 0
    while True:
        attempt += 1
        outcome: httpx2.Response | Exception
        try:
            outcome = await send()
        except httpx2.TransportError as exc:
            outcome = exc
        retryable, retry_after = _verdict(outcome)
        delay = next_delay(policy, attempt, monotonic() - start, retry_after, rng)
        if not retryable or delay is None:
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        if isinstance(outcome, httpx2.Response):
            await outcome.aclose()
        await sleep(delay)
