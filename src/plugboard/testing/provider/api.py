"""What every protected API of the test provider does first (canned answers) and last (the echo)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plugboard.testing.provider.common import Note, Refusal, media_type, read_form
from plugboard.testing.provider_state import ProviderState

# Headers the API echo never shows: they carry credentials.
_HIDDEN_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-amz-security-token"}
)


def prelude(state: ProviderState, request: Request, note: Note) -> None:
    """Count the hit and answer from the canned queue first (rate limits, outages)."""
    state.hit(request.url.path)
    canned = state.pop_canned()
    if canned is None:
        return
    note.canned = True
    if canned.status in (204, 304) or (canned.status < 200):
        response: Response = Response(status_code=canned.status, headers=dict(canned.headers))
    else:
        content = canned.json if canned.json is not None else {"error": f"HTTP {canned.status}"}
        response = JSONResponse(content, canned.status, headers=dict(canned.headers))
    raise Refusal(response, f"canned_{canned.status}")


def echo(
    request: Request,
    body: bytes,
    kind: str,
    account: str,
    *,
    hide_query: frozenset[str] = frozenset(),
    hide_form: frozenset[str] = frozenset(),
    hide_headers: frozenset[str] = frozenset(),
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """What the API received, minus the credential (so tests can check pass-through)."""
    form = read_form(request, body)
    json_body: Any = None
    text: str | None = None
    if form is None and body:
        if media_type(request) == "application/json" or media_type(request).endswith("+json"):
            try:
                json_body = json.loads(body)
            except ValueError:
                text = body.decode("utf-8", "replace")
        else:
            text = body.decode("utf-8", "replace")
    hidden = _HIDDEN_HEADERS | {name.lower() for name in hide_headers}
    return JSONResponse(
        {
            "ok": True,
            "auth": kind,
            "account": account,
            "method": request.method,
            # The route's own path parameter: right whether or not the app is mounted.
            "path": "/" + str(request.path_params.get("path", "")),
            "query": _args(list(request.query_params.multi_items()), hide_query),
            "form": None if form is None else _args(form, hide_form),
            "json": json_body,
            "text": text,
            "headers": {
                name: value for name, value in request.headers.items() if name not in hidden
            },
            **(extra or {}),
        }
    )


def _args(pairs: Sequence[tuple[str, str]], hide: frozenset[str]) -> dict[str, str | list[str]]:
    """httpbin-style: a name's value, or the list of them when it is repeated."""
    out: dict[str, str | list[str]] = {}
    for name, value in pairs:
        if name in hide:
            continue
        if name in out:
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out
