"""OAuth 2 authorization endpoint (RFC 6749 code grant, RFC 7636 PKCE S256) and RFC 8414
metadata.
"""

from __future__ import annotations

import re
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from plugboard.testing.provider.common import Note, Refusal, single, with_params
from plugboard.testing.provider.pages import consent_page, error_page
from plugboard.testing.provider_state import (
    Account,
    AuthCode,
    ClientAuth,
    ConsentMode,
    ConsentTicket,
    ProviderState,
    new_token,
)

_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


async def authorize(state: ProviderState, request: Request, note: Note) -> Response:
    pairs = list(request.query_params.multi_items())
    try:
        client_id = single(pairs, "client_id")
        redirect_uri = single(pairs, "redirect_uri")
    except Refusal:
        return error_page(400, "Invalid request", "client_id or redirect_uri is repeated")
    note.client_id = client_id
    client = state.oauth2_clients.get(client_id or "")
    # RFC 6749 §4.1.2.1: with an unknown client or redirect URI, never redirect.
    if client is None:
        raise Refusal(error_page(400, "Unknown client", "no such client_id"), "invalid_client")
    if redirect_uri is None:
        if len(client.redirect_uris) != 1:
            raise Refusal(
                error_page(400, "Invalid request", "redirect_uri is required"),
                "invalid_request",
            )
        target = client.redirect_uris[0]
    elif redirect_uri in client.redirect_uris:
        target = redirect_uri
    else:
        raise Refusal(
            error_page(400, "Invalid redirect URI", "redirect_uri is not registered"),
            "invalid_redirect_uri",
        )
    state_param = request.query_params.get("state")

    def back(error: str, description: str) -> Refusal:
        params = [("error", error), ("error_description", description)]
        if state_param is not None:
            params.append(("state", state_param))
        return Refusal(RedirectResponse(with_params(target, params), 302), error)

    try:
        response_type = single(pairs, "response_type")
        scope = single(pairs, "scope") or ""
        challenge = single(pairs, "code_challenge")
        method = single(pairs, "code_challenge_method") or "plain"
    except Refusal as refusal:
        raise back("invalid_request", str(refusal.error)) from None
    note.scope = scope
    if response_type != "code":
        raise back("unsupported_response_type", "only response_type=code is supported")
    if challenge is None:
        if client.require_pkce:
            raise back("invalid_request", "code_challenge (PKCE S256) is required")
    elif method != "S256":
        raise back("invalid_request", "code_challenge_method must be S256")
    elif not _PKCE_CHALLENGE.fullmatch(challenge):
        raise back("invalid_request", "code_challenge is not a base64url SHA-256 digest")
    requested = set(scope.split())
    if client.allowed_scopes is not None and not requested <= client.allowed_scopes:
        raise back("invalid_scope", "a requested scope is not available to this client")

    params = {
        "client_id": client.client_id,
        "redirect_uri": target,
        "redirect_uri_given": "1" if redirect_uri is not None else "",
        "scope": scope,
        "challenge": challenge or "",
    }
    if state_param is not None:
        params["state"] = state_param
    mode = state.consent_mode
    account = state.next_account
    if mode is ConsentMode.DENY:
        raise back("access_denied", "the user denied the request")
    if mode is ConsentMode.PAGE:
        ticket = new_token("consent")
        with state.lock:
            state.consent_tickets[ticket] = ConsentTicket("oauth2", params, account)
        return consent_page(ticket, client.client_id, scope, account)
    note.account = account.sub
    return approve(state, params, account)


def approve(state: ProviderState, params: dict[str, str], account: Account) -> Response:
    granted = state.grant_scope
    code = AuthCode(
        code=new_token("code"),
        client_id=params["client_id"],
        redirect_uri=params["redirect_uri"] if params["redirect_uri_given"] else None,
        challenge=params["challenge"] or None,
        scope=params["scope"] if granted is None else granted,
        account=account,
        expires_at=state.now() + timedelta(seconds=state.code_ttl),
        grant_id=new_token("grant"),
    )
    with state.lock:
        state.codes[code.code] = code
    out = [("code", code.code)]
    if "state" in params:
        out.append(("state", params["state"]))
    return RedirectResponse(with_params(params["redirect_uri"], out), 302)


async def metadata(state: ProviderState, request: Request, note: Note) -> Response:
    """RFC 8414 authorization server metadata."""
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "token_endpoint": f"{base}/oauth2/token",
            "revocation_endpoint": f"{base}/oauth2/revoke",
            "userinfo_endpoint": f"{base}/oauth2/userinfo",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [m.value for m in ClientAuth],
            "revocation_endpoint_auth_methods_supported": [m.value for m in ClientAuth],
        }
    )
