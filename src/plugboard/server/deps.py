"""Dependencies every route uses: the runtime and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from plugboard.domain.principal import Principal
from plugboard.errors import AuthenticationFailed
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.identity import authenticate_token
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.sessions import authenticate_session

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer pbt_…`")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


SESSION_COOKIE = "pb_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_principal(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who is calling: an API token (`Authorization: Bearer`) or a console session cookie, whose
    writes must carry the session's CSRF token. Only the OAuth callback needs neither."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        with runtime.unit() as unit:
            return authenticate_token(unit, credentials.credentials, via="api")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with runtime.unit(write=False) as unit:
            return authenticate_session(
                unit,
                cookie,
                csrf_token=request.headers.get(CSRF_HEADER),
                needs_csrf=request.method not in SAFE_METHODS,
            )
    raise AuthenticationFailed(
        "authentication required: send `Authorization: Bearer <token>` or log in"
    )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_consent_flows(request: Request) -> ConsentFlows:
    flows: ConsentFlows = request.app.state.consent_flows
    return flows


ConsentFlowsDep = Annotated[ConsentFlows, Depends(get_consent_flows)]
