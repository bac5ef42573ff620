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

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer pbt_…`")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_principal(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who is calling. Every API route needs a principal; only the OAuth callback does not."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("authentication required: send `Authorization: Bearer <token>`")
    with runtime.unit() as unit:
        return authenticate_token(unit, credentials.credentials, via="api")


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_consent_flows(request: Request) -> ConsentFlows:
    flows: ConsentFlows = request.app.state.consent_flows
    return flows


ConsentFlowsDep = Annotated[ConsentFlows, Depends(get_consent_flows)]
