"""The HTTP Basic protected API."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plugboard.testing.provider.api import echo, prelude
from plugboard.testing.provider.common import REALM, Note, Refusal, basic_credentials, same
from plugboard.testing.provider_state import ProviderState


async def api(state: ProviderState, request: Request, note: Note) -> Response:
    prelude(state, request, note)
    body = await request.body()
    credentials = basic_credentials(request)
    challenge = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
    if credentials is None:
        raise Refusal(JSONResponse({"error": "unauthorized"}, 401, headers=challenge), "missing")
    user, password = credentials
    note.placement = "header"
    expected = state.basic_users.get(user)
    if expected is None or not same(password, expected):
        raise Refusal(
            JSONResponse({"error": "unauthorized"}, 401, headers=challenge), "bad_credentials"
        )
    note.account = user
    return echo(request, body, "basic", user)
