"""Dependencies every route uses: the runtime and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from plugboard.domain.principal import Principal
from plugboard.server.principal_cache import SAFE_METHODS as SAFE_METHODS  # console/web.py
from plugboard.server.principal_cache import authenticate_request
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.runtime import Runtime

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


async def get_principal(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who is calling: an API token (`Authorization: Bearer`) or a console session cookie, whose
    writes must carry the session's CSRF token. Only the OAuth callback needs neither
    (:func:`plugboard.server.principal_cache.authenticate_request`; ``credentials`` puts the
    bearer scheme in the OpenAPI document)."""
    return await authenticate_request(
        runtime,
        request.app.state.principal_cache,
        authorization=request.headers.get("authorization"),
        session_cookie=request.cookies.get(SESSION_COOKIE),
        csrf_token=request.headers.get(CSRF_HEADER),
        method=request.method,
    )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_consent_flows(request: Request) -> ConsentFlows:
    flows: ConsentFlows = request.app.state.consent_flows
    return flows


ConsentFlowsDep = Annotated[ConsentFlows, Depends(get_consent_flows)]
