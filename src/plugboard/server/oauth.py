"""The OAuth callback: the only route without a principal; the single-use `state` binds it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from plugboard.domain.oauth import CALLBACK_PATH
from plugboard.usecases.consent import ConsentFlows

router = APIRouter(tags=["oauth"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "web" / "templates"))


@router.get(CALLBACK_PATH, response_class=HTMLResponse, include_in_schema=False)
def oauth_callback(request: Request) -> HTMLResponse:
    """Completes a consent. Failures (denied, expired, replayed, forged) change nothing and
    answer 400 with a page that says why."""
    flows: ConsentFlows = request.app.state.consent_flows
    result = flows.complete(dict(request.query_params))
    return templates.TemplateResponse(
        request,
        "callback.html",
        {"result": result},
        status_code=200 if result.ok else 400,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
