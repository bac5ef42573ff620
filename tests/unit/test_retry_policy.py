"""Retry decisions (auth/retry.py): idempotent methods only, backoff with jitter, Retry-After,
bounded by attempts and time."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
import pytest

from plugboard.auth.retry import RetryPolicy, next_delay, parse_retry_after, send_with_retries


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("7") == 7.0


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0


def test_an_unreadable_retry_after_is_ignored() -> None:
    assert parse_retry_after("soon") is None


def test_the_delay_is_never_shorter_than_retry_after() -> None:
    assert next_delay(RetryPolicy(), 1, 0.0, 5.0, rng=lambda: 0.0) == 5.0


def test_the_backoff_grows_and_is_jittered() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=100)
    assert next_delay(policy, 3, 0.0, None, rng=lambda: 0.5) == 2.0  # half of 1 * 2^2


def test_no_retry_that_would_start_after_the_time_budget() -> None:
    assert next_delay(RetryPolicy(max_seconds=10), 1, 0.0, 11.0) is None


def test_no_retry_after_the_last_attempt() -> None:
    assert next_delay(RetryPolicy(max_attempts=2), 2, 0.0, None) is None


def _sender(outcomes: list[object]) -> tuple[list[int], object]:
    calls: list[int] = []

    def send() -> httpx2.Response:
        calls.append(1)
        outcome = outcomes[min(len(calls), len(outcomes)) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, int)
        return httpx2.Response(outcome)

    return calls, send


def test_a_connection_error_is_retried_for_get() -> None:
    calls, send = _sender([httpx2.ConnectError("refused"), 200])
    response = send_with_retries(send, "GET", RetryPolicy(), sleep=lambda s: None)  # type: ignore[arg-type]
    assert response.status_code == 200 and len(calls) == 2


def test_a_connection_error_is_not_retried_for_post() -> None:
    calls, send = _sender([httpx2.ConnectError("refused"), 200])
    with pytest.raises(httpx2.ConnectError):
        send_with_retries(send, "POST", RetryPolicy(), sleep=lambda s: None)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_a_read_timeout_is_not_retried() -> None:
    calls, send = _sender([httpx2.ReadTimeout("slow"), 200])
    with pytest.raises(httpx2.ReadTimeout):
        send_with_retries(send, "GET", RetryPolicy(), sleep=lambda s: None)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_the_wait_between_attempts_honours_retry_after() -> None:
    slept: list[float] = []
    calls = []

    def send() -> httpx2.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx2.Response(503, headers={"Retry-After": "2"})
        return httpx2.Response(200)

    send_with_retries(send, "GET", RetryPolicy(), sleep=slept.append, rng=lambda: 0.0)
    assert slept == [2.0]
