"""A short-lived cache of checked API tokens, so a busy client's every request does not re-read
its token, user and membership. Entries live `ttl` seconds; a revocation made through this
process forgets the token at once.

:func:`authenticate_request` is who a request is, from its ``Authorization`` header or session
cookie: the FastAPI dependency (server/deps.py) and the proxy's plain ASGI path
(server/proxy.py) both ask it, so both authenticate alike."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from plugboard.domain.principal import Principal
from plugboard.domain.tokens import hash_token
from plugboard.errors import AuthenticationFailed
from plugboard.usecases.app_tokens import authenticate, note_use
from plugboard.usecases.identity import token_use_is_stale
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.sessions import authenticate_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class PrincipalCache:
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        # Checks in flight, per event loop (a future belongs to one loop).
        self._flights: dict[tuple[int, str], asyncio.Future[Principal]] = {}

    def get(self, token_hash: str) -> Principal | None:
        if self._ttl <= 0:
            return None
        # A dict read is atomic: the lock is only for changes (a hit costs no lock).
        found = self._entries.get(token_hash)
        if found is None:
            return None
        if found[0] < time.monotonic():
            with self._lock:
                self._entries.pop(token_hash, None)
            return None
        return found[1]

    def put(self, token_hash: str, principal: Principal) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[token_hash] = (time.monotonic() + self._ttl, principal)

    async def check_once(
        self, token_hash: str, check: Callable[[], Awaitable[Principal]]
    ) -> Principal:
        """Check a token not in the cache -- once, however many of its requests arrive while
        it is checked (every entry of a busy client lapses at the same instant: without this,
        each of its concurrent requests read the token in a worker thread of its own). The
        others share the outcome, a refusal included; a refusal is not cached."""
        loop = asyncio.get_running_loop()
        flight_key = (id(loop), token_hash)
        while (flight := self._flights.get(flight_key)) is not None:
            try:
                return await asyncio.shield(flight)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not flight.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The request that was checking went away: this one checks instead.
        flight = loop.create_future()
        self._flights[flight_key] = flight
        try:
            principal = await check()
        except BaseException as exc:
            if isinstance(exc, Exception):
                flight.set_exception(exc)
                flight.exception()  # retrieved: no "never retrieved" warning when none waits
            else:
                flight.cancel()
            raise
        else:
            self.put(token_hash, principal)
            flight.set_result(principal)
            return principal
        finally:
            del self._flights[flight_key]

    def forget_token(self, token_id: str) -> None:
        with self._lock:
            for key in [k for k, (_, p) in self._entries.items() if p.token_id == token_id]:
                del self._entries[key]


def bearer_token(authorization: str | None) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (the scheme in any case), else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token if token and scheme.lower() == "bearer" else None


async def authenticate_request(
    runtime: Runtime,
    cache: PrincipalCache,
    *,
    authorization: str | None,
    session_cookie: str | None,
    csrf_token: str | None,
    method: str,
) -> Principal:
    """Who is calling: an API token (`Authorization: Bearer`) or a console session cookie, whose
    writes must carry the session's CSRF token. A token found in the cache costs no trip to
    the worker threads; database work runs there."""
    token = bearer_token(authorization)
    if token is not None:
        key = hash_token(token)
        cached = cache.get(key)
        if cached is not None:
            return cached
        return await cache.check_once(key, lambda: run_in_threadpool(_check_token, runtime, token))
    if session_cookie:
        needs_csrf = method not in SAFE_METHODS
        return await run_in_threadpool(
            _check_session, runtime, session_cookie, csrf_token, needs_csrf
        )
    raise AuthenticationFailed(
        "authentication required: send `Authorization: Bearer <token>` or log in"
    )


def _check_token(runtime: Runtime, secret: str) -> Principal:
    with runtime.unit(write=False) as unit:
        principal = authenticate(unit, secret, via="api")
    if token_use_is_stale(principal, runtime.clock.now()):
        with runtime.unit() as unit:
            note_use(unit, principal)
    return principal


def _check_session(runtime: Runtime, cookie: str, csrf: str | None, needs_csrf: bool) -> Principal:
    with runtime.unit(write=False) as unit:
        return authenticate_session(unit, cookie, csrf_token=csrf, needs_csrf=needs_csrf)
