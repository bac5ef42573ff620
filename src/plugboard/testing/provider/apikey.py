"""The API key protected API."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plugboard.testing.provider.api import echo, prelude
from plugboard.testing.provider.common import Note, Refusal, read_form, same
from plugboard.testing.provider_state import ProviderState


async def api(state: ProviderState, request: Request, note: Note) -> Response:
    prelude(state, request, note)
    body = await request.body()
    form = read_form(request, body) or []
    query = list(request.query_params.multi_items())
    params = list(state.api_key_params)
    note.placement = ",".join(p.placement for p in params) or None
    missing = False
    for param in params:
        if param.placement == "header":
            values = request.headers.getlist(param.name)
        elif param.placement == "query":
            values = [v for k, v in query if k == param.name]
        else:
            values = [v for k, v in form if k == param.name]
        if not values:
            missing = True
        elif len(values) > 1 or not same(values[0], param.prefix + param.value):
            raise Refusal(
                JSONResponse({"error": "invalid_api_key", "message": "invalid API key"}, 401),
                "invalid_api_key",
            )
    if missing or not params:
        raise Refusal(
            JSONResponse({"error": "missing_api_key", "message": "API key required"}, 401),
            "missing_api_key",
        )
    note.account = state.api_key_owner
    return echo(
        request,
        body,
        "apikey",
        state.api_key_owner,
        hide_query=frozenset(p.name for p in params if p.placement == "query"),
        hide_form=frozenset(p.name for p in params if p.placement == "form"),
        hide_headers=frozenset(p.name for p in params if p.placement == "header"),
    )
