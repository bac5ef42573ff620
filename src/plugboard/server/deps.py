"""Dependencies every route uses: the runtime and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from plugboard.domain.principal import Principal
from plugboard.domain.tokens import hash_token
from plugboard.errors import AuthenticationFailed
from plugboard.server.principal_cache import PrincipalCache
from plugboard.usecases.app_tokens import authenticate, note_use
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.identity import token_use_is_stale
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.sessions import authenticate_session

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token (`Authorization: Bearer pbt_…`) or an app token (`pba_…`)",
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


SESSION_COOKIE = "pb_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_principal(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who is calling: an API token (`Authorization: Bearer`) or a console session cookie, whose
    writes must carry the session's CSRF token. Only the OAuth callback needs neither.

    Async so that a token found in the cache costs no trip to the worker threads; database work
    runs there."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        cache: PrincipalCache = request.app.state.principal_cache
        key = hash_token(credentials.credentials)
        cached = cache.get(key)
        if cached is not None:
            return cached
        principal = await run_in_threadpool(_check_token, runtime, credentials.credentials)
        cache.put(key, principal)
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        csrf, needs_csrf = request.headers.get(CSRF_HEADER), request.method not in SAFE_METHODS
        return await run_in_threadpool(_check_session, runtime, cookie, csrf, needs_csrf)
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


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_consent_flows(request: Request) -> ConsentFlows:
    flows: ConsentFlows = request.app.state.consent_flows
    return flows


ConsentFlowsDep = Annotated[ConsentFlows, Depends(get_consent_flows)]
