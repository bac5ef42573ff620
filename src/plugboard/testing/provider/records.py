"""A paged list API (``/api/<auth>/records``) for datasource syncs (SPEC §8): the same
``records_total`` records served in any of the four pagination styles, behind any of the
provider's credentials.

``style`` (query) picks the shape, the page size comes from ``limit`` (cursor, offset) or
``per_page`` (page, link), 100 by default:

- ``cursor``: ``after`` → ``{"results": [...], "paging": {"next": {"after": "c200"}}}`` (HubSpot)
- ``offset``: ``offset`` → ``{"records": [...], "total": N}``
- ``page``: ``page`` (from 1) → ``{"records": [...], "info": {"more_records": true}}`` (Zoho)
- ``link``: ``page`` → a bare list and ``Link: <…&page=3>; rel="next"`` (GitHub, Shopify)

Record ``i`` (1-based) is ``{"id": "rec-00001", "name": "Record 1", "email":
"user1@records.test", "amount": 10, "version": records_version}``. With ``fail_records_page``
set, that page (1-based) answers ``fail_records_status`` instead; ``records_delay`` makes each
page wait that many seconds (without blocking other requests).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plugboard.testing.provider.common import Handler, Note, Refusal
from plugboard.testing.provider_state import ProviderState

STYLES = ("cursor", "offset", "page", "link")


def _record(i: int, version: int) -> dict[str, Any]:
    return {
        "id": f"rec-{i:05d}", "name": f"Record {i}", "email": f"user{i}@records.test",
        "amount": i * 10, "version": version,
    }  # fmt: skip


def _int(request: Request, name: str, default: int, low: int = 0) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < low:
        raise Refusal(JSONResponse({"error": "invalid_request", "param": name}, 400), "bad_param")
    return int(raw)


def _page(state: ProviderState, request: Request) -> Response:
    style = request.query_params.get("style", "cursor")
    if style not in STYLES:
        raise Refusal(JSONResponse({"error": "invalid_request", "param": "style"}, 400), "style")
    size = _int(request, "limit" if style in ("cursor", "offset") else "per_page", 100, low=1)
    size = min(size, 1000)
    if style == "cursor":
        after = request.query_params.get("after", "c0")
        if not after.startswith("c") or not after[1:].isdigit():
            raise Refusal(JSONResponse({"error": "invalid_cursor"}, 400), "bad_cursor")
        start = int(after[1:])
    elif style == "offset":
        start = _int(request, "offset", 0)
    else:
        start = (_int(request, "page", 1, low=1) - 1) * size
    total, version = state.records_total, state.records_version
    number = start // size + 1
    if state.fail_records_page == number:
        status = state.fail_records_status
        raise Refusal(JSONResponse({"error": "server_error", "page": number}, status), "failed")
    items = [_record(i, version) for i in range(start + 1, min(start + size, total) + 1)]
    end = start + len(items)
    if style == "cursor":
        paging = {"next": {"after": f"c{end}"}} if end < total else {}
        return JSONResponse({"results": items, "paging": paging})
    if style == "offset":
        return JSONResponse({"records": items, "total": total})
    if style == "page":
        return JSONResponse(
            {"records": items, "info": {"page": number, "more_records": end < total}}
        )
    headers = {}
    if end < total:
        following = request.url.include_query_params(page=number + 1)
        headers["Link"] = f'<{following}>; rel="next"'
    return JSONResponse(items, headers=headers)


def records_of(authenticate: Handler) -> Handler:
    """The records API behind ``authenticate`` (an ``/api/<auth>/`` handler: canned answers
    first, then its credential check; what it would echo is not sent)."""

    async def handler(state: ProviderState, request: Request, note: Note) -> Response:
        await authenticate(state, request, note)
        if state.records_delay:
            await asyncio.sleep(state.records_delay)
        return _page(state, request)

    return handler
