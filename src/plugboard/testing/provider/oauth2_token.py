"""OAuth 2 token endpoint (code and refresh grants, RFC 6749 §2.3 client authentication) and
RFC 7009 revocation.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote_plus

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plugboard.testing.provider.common import (
    FORM,
    NO_STORE,
    REALM,
    Note,
    Refusal,
    basic_credentials,
    oauth_error,
    read_form,
    same,
    single,
)
from plugboard.testing.provider_state import ClientAuth, OAuth2Client, ProviderState

_PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def _pkce_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _authenticate_client(
    state: ProviderState, request: Request, form: Sequence[tuple[str, str]], note: Note
) -> OAuth2Client:
    """RFC 6749 §2.3: exactly one method, and the one the client is registered for."""
    basic = basic_credentials(request)
    form_id = single(form, "client_id")
    form_secret = single(form, "client_secret")
    if basic is not None and form_secret is not None:
        raise Refusal(
            oauth_error("invalid_request", "more than one client authentication method"),
            "invalid_request",
        )
    secret: str | None
    if basic is not None:
        # §2.3.1: id and secret are form-encoded before they go into the Basic header.
        used, client_id, secret = (
            ClientAuth.BASIC,
            unquote_plus(basic[0]),
            unquote_plus(basic[1]),
        )
    elif form_secret is not None:
        used, client_id, secret = ClientAuth.POST, form_id or "", form_secret
    elif form_id is not None:
        used, client_id, secret = ClientAuth.NONE, form_id, None
    else:
        raise Refusal(_invalid_client("client authentication is required", True), "invalid_client")
    note.client_id, note.client_auth = client_id, used.value
    client = state.oauth2_clients.get(client_id)
    challenge = basic is not None or (client is not None and client.auth_method is ClientAuth.BASIC)
    if client is None:
        raise Refusal(_invalid_client("unknown client", challenge), "invalid_client")
    if used is not client.auth_method:
        raise Refusal(
            _invalid_client(
                f"this client must authenticate with {client.auth_method.value}", challenge
            ),
            "invalid_client",
        )
    if secret is not None and not same(secret, client.client_secret):
        raise Refusal(_invalid_client("bad client credentials", challenge), "invalid_client")
    return client


def _invalid_client(description: str, challenge: bool) -> JSONResponse:
    headers = {"WWW-Authenticate": f'Basic realm="{REALM}"'} if challenge else None
    return oauth_error("invalid_client", description, 401, headers)


async def token(state: ProviderState, request: Request, note: Note) -> Response:
    body = await request.body()  # read first: a client that goes away is still served
    form = read_form(request, body)
    presented = single(form, "refresh_token") if form is not None else None
    with state.lock:
        if presented and state.refuse_refresh_in_use:
            if state.refreshes_in_progress[presented]:
                raise _invalid_grant("the refresh token is in use by another request")
        if presented:
            state.refreshes_in_progress[presented] += 1
    try:
        response = await _token(state, request, form, note)
        if state.token_answer_delay > 0:
            await anyio.sleep(state.token_answer_delay)  # issued; the answer is on its way
        return response
    finally:
        if presented:
            with state.lock:
                state.refreshes_in_progress[presented] -= 1
                if state.refreshes_in_progress[presented] <= 0:
                    del state.refreshes_in_progress[presented]


async def _token(
    state: ProviderState, request: Request, form: list[tuple[str, str]] | None, note: Note
) -> Response:
    delay = state.token_endpoint_delay
    if delay > 0:
        await anyio.sleep(delay)
    failure = state.fail_token_endpoint_with
    if form is not None:
        # Recorded even for a simulated outage, so tests can count attempts per grant type.
        note.grant_type = next((v for k, v in form if k == "grant_type"), None)
    if failure is not None:
        error = "temporarily_unavailable" if failure == 503 else "server_error"
        raise Refusal(oauth_error(error, "simulated outage", failure), error)
    if form is None:
        raise Refusal(oauth_error("invalid_request", f"the body must be {FORM}"), "invalid_request")
    grant_type = single(form, "grant_type")
    client = _authenticate_client(state, request, form, note)
    if grant_type == "authorization_code":
        answer = _code_grant(state, client, form, note)
    elif grant_type == "refresh_token":
        answer = _refresh_grant(state, client, form, note)
    elif grant_type is None:
        raise Refusal(oauth_error("invalid_request", "grant_type is required"), "invalid_request")
    else:
        raise Refusal(
            oauth_error("unsupported_grant_type", f"{grant_type} is not supported"),
            "unsupported_grant_type",
        )
    return JSONResponse(answer, headers=NO_STORE)


def _invalid_grant(description: str) -> Refusal:
    return Refusal(oauth_error("invalid_grant", description), "invalid_grant")


def _code_grant(
    state: ProviderState, client: OAuth2Client, form: Sequence[tuple[str, str]], note: Note
) -> dict[str, Any]:
    code_value = single(form, "code")
    redirect_uri = single(form, "redirect_uri")
    verifier = single(form, "code_verifier")
    with state.lock:
        code = state.codes.get(code_value or "")
        if code is None or code.client_id != client.client_id:
            raise _invalid_grant("unknown authorization code")
        if code.used:
            # RFC 6749 §4.1.2: a replayed code revokes what it was exchanged for.
            state.revoke_grant(code.grant_id)
            raise _invalid_grant("authorization code already used")
        # Burnt by any attempt, so a verifier cannot be guessed against one code.
        code.used = True
        if state.now() >= code.expires_at:
            raise _invalid_grant("authorization code expired")
        if code.redirect_uri is not None and redirect_uri != code.redirect_uri:
            raise _invalid_grant("redirect_uri does not match the authorization request")
        if code.challenge is not None:
            if verifier is None:
                raise _invalid_grant("code_verifier is required")
            if not _PKCE_VERIFIER.fullmatch(verifier):
                raise _invalid_grant("code_verifier is malformed")
            if not same(_pkce_s256(verifier), code.challenge):
                raise _invalid_grant("code_verifier does not match the code_challenge")
        elif verifier is not None:
            raise _invalid_grant("code_verifier sent but no code_challenge was")
        note.account, note.scope = code.account.sub, code.scope
        return state.issue_tokens(
            client.client_id, code.account, code.scope, grant_id=code.grant_id
        )


def _refresh_grant(
    state: ProviderState, client: OAuth2Client, form: Sequence[tuple[str, str]], note: Note
) -> dict[str, Any]:
    value = single(form, "refresh_token")
    scope = single(form, "scope")
    with state.lock:
        if state.reject_refresh:
            raise _invalid_grant("the refresh token was revoked or expired")
        refresh = state.refresh_tokens.get(value or "")
        if refresh is None or refresh.client_id != client.client_id:
            raise _invalid_grant("invalid refresh token")
        if not refresh.active:
            if not state.reusable(refresh):
                raise _invalid_grant("invalid refresh token")
            refresh.reused = True  # within the reuse grace period: once
        if scope is not None and not set(scope.split()) <= set(refresh.scope.split()):
            raise Refusal(
                oauth_error("invalid_scope", "scope exceeds the original grant"),
                "invalid_scope",
            )
        note.account, note.scope = refresh.account.sub, scope or refresh.scope
        return state.rotate(refresh, scope)


async def revoke(state: ProviderState, request: Request, note: Note) -> Response:
    form = read_form(request, await request.body())
    if form is None:
        raise Refusal(oauth_error("invalid_request", f"the body must be {FORM}"), "invalid_request")
    client = _authenticate_client(state, request, form, note)
    token = single(form, "token")
    note.token_type_hint = single(form, "token_type_hint")
    if token is None:
        raise Refusal(oauth_error("invalid_request", "token is required"), "invalid_request")
    with state.lock:
        access = state.access_tokens.get(token)
        refresh = state.refresh_tokens.get(token)
        owner = access.client_id if access else refresh.client_id if refresh else None
        if owner is not None and owner != client.client_id:
            raise Refusal(
                oauth_error("unauthorized_client", "the token belongs to another client"),
                "unauthorized_client",
            )
        if access is not None:
            note.token_kind, note.account = "access_token", access.account.sub
            access.revoked = True
        elif refresh is not None:
            # RFC 7009 §2.1: revoking a refresh token also revokes its access tokens.
            note.token_kind, note.account = "refresh_token", refresh.account.sub
            state.revoke_grant(refresh.grant_id)
    # RFC 7009 §2.2: an unknown token is answered 200 too.
    return Response(status_code=200, headers=NO_STORE)
