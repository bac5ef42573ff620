"""The consent page's answer, for both OAuth 1 and OAuth 2."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from plugboard.testing.provider.common import Note, Refusal, read_form, single, with_params
from plugboard.testing.provider.oauth1 import decide
from plugboard.testing.provider.oauth2_authorize import approve
from plugboard.testing.provider.pages import error_page
from plugboard.testing.provider_state import ProviderState


async def consent(state: ProviderState, request: Request, note: Note) -> Response:
    """The consent page's form posts here (both OAuth 1 and OAuth 2)."""
    form = read_form(request, await request.body()) or []
    ticket_id = single(form, "ticket") or ""
    decision = single(form, "decision")
    with state.lock:
        ticket = state.consent_tickets.pop(ticket_id, None)
    if ticket is None:
        raise Refusal(
            error_page(400, "Consent expired", "this consent page was already answered"),
            "unknown_ticket",
        )
    params = ticket.params
    approved = decision == "approve"
    if approved:
        note.account = ticket.account.sub
    if ticket.kind == "oauth1":
        return decide(state, params["oauth_token"], ticket.account, approved)
    note.client_id = params["client_id"]
    if approved:
        return approve(state, params, ticket.account)
    out = [("error", "access_denied"), ("error_description", "the user denied the request")]
    if "state" in params:
        out.append(("state", params["state"]))
    raise Refusal(RedirectResponse(with_params(params["redirect_uri"], out), 302), "access_denied")
