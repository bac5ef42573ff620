"""SigV4Auth reuses the last signature only for exactly the same signed content: every request
carries what a fresh signer would put on it (issue 14: a hot loop signs once per second)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2

from plugboard.auth.sigv4 import SigV4Auth

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 8, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def signed(auth: SigV4Auth, url: str, **options: object) -> dict[str, str]:
    request = auth.sign(httpx2.Request("GET", url, **options))  # type: ignore[arg-type]
    return {k: v for k, v in request.headers.items() if k.startswith(("x-amz", "authorization"))}


def fresh(clock: Clock, url: str, **options: object) -> dict[str, str]:
    return signed(SigV4Auth(KEY, SECRET, "eu-west-1", "execute-api", clock=clock), url, **options)


def test_each_request_carries_what_a_fresh_signer_puts_on_it() -> None:
    clock = Clock()
    auth = SigV4Auth(KEY, SECRET, "eu-west-1", "execute-api", clock=clock)
    url = "https://api.example.com/v1/items?b=2&a=1"
    first = signed(auth, url)
    assert signed(auth, url) == first == fresh(clock, url)  # reused within the second
    other_path = "https://api.example.com/v1/other"
    assert signed(auth, other_path) == fresh(clock, other_path) != first
    header = {"headers": {"x-tenant": "acme"}}
    assert signed(auth, url, **header) == fresh(clock, url, **header) != first
    body = {"content": b'{"a": 1}'}
    assert signed(auth, url, **body) == fresh(clock, url, **body) != first
    clock.now = clock.now.replace(second=1)
    later = signed(auth, url)
    assert later == fresh(clock, url) and later["authorization"] != first["authorization"]


def test_a_changed_region_is_signed_again() -> None:
    clock = Clock()
    auth = SigV4Auth(KEY, SECRET, "eu-west-1", "execute-api", clock=clock)
    url = "https://api.example.com/v1/items"
    first = signed(auth, url)
    auth.region = "us-east-1"
    again = signed(auth, url)
    assert again != first
    assert again == signed(SigV4Auth(KEY, SECRET, "us-east-1", "execute-api", clock=clock), url)
