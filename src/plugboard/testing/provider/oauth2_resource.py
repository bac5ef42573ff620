"""What OAuth 2 access tokens open: the userinfo endpoint and the Bearer-protected API (RFC 6750),
which signals expiry in the style :class:`ExpirySignal` picks.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plugboard.testing.provider.api import echo, prelude
from plugboard.testing.provider.common import REALM, Note, Refusal, read_form
from plugboard.testing.provider_state import AccessToken, ExpirySignal, ProviderState


def _access_token(state: ProviderState, token: str | None) -> tuple[AccessToken | None, str]:
    """The live access token, or None and why not (unknown | revoked | expired)."""
    with state.lock:
        access = state.access_tokens.get(token or "")
    if access is None:
        return None, "unknown"
    if access.revoked:
        return None, "revoked"
    if state.now() >= access.expires_at:
        return None, "expired"
    return access, ""


async def userinfo(state: ProviderState, request: Request, note: Note) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Refusal(_bearer_challenge(None), "missing_token")
    access, why = _access_token(state, token.strip())
    if access is None:
        raise Refusal(_bearer_challenge(why), f"token_{why}")
    note.client_id, note.account = access.client_id, access.account.sub
    return JSONResponse(access.account.as_dict())


async def api(state: ProviderState, request: Request, note: Note) -> Response:
    prelude(state, request, note)
    body = await request.body()
    found: list[tuple[str, str]] = []
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        found.append(("header", value.strip()))
    if state.accept_access_token_in_query:
        found += [("query", v) for v in request.query_params.getlist("access_token")]
    form = read_form(request, body)
    if state.accept_access_token_in_form and form is not None:
        found += [("form", v) for k, v in form if k == "access_token"]
    if not found:
        raise Refusal(_bearer_challenge(None), "missing_token")
    if len(found) > 1:
        # RFC 6750 §2: a client MUST NOT use more than one method.
        raise Refusal(
            JSONResponse(
                {"error": "invalid_request"},
                400,
                headers=_bearer_header("invalid_request", "more than one access token"),
            ),
            "invalid_request",
        )
    note.placement, token = found[0]
    access, why = _access_token(state, token)
    if access is None:
        raise Refusal(_expiry_response(state, why), f"token_{why}")
    note.client_id, note.account, note.scope = (
        access.client_id,
        access.account.sub,
        access.scope,
    )
    return echo(
        request,
        body,
        "oauth2",
        access.account.sub,
        hide_query=frozenset({"access_token"}),
        hide_form=frozenset({"access_token"}),
        extra={"scope": access.scope},
    )


def _expiry_response(state: ProviderState, why: str) -> Response:
    signal = state.expiry_signal
    if signal is ExpirySignal.BODY:
        slack = {"expired": "token_expired", "revoked": "token_revoked"}.get(why, "invalid_auth")
        return JSONResponse({"ok": False, "error": slack})
    if signal is ExpirySignal.FORBIDDEN:
        return JSONResponse(
            {
                "error": "token_expired" if why == "expired" else "invalid_token",
                "message": f"access token {why}",
            },
            403,
        )
    return _bearer_challenge(why)


def _bearer_header(error: str | None, description: str = "") -> dict[str, str]:
    value = f'Bearer realm="{REALM}"'
    if error:
        value += f', error="{error}"'
        if description:
            value += f', error_description="{description}"'
    return {"WWW-Authenticate": value}


def _bearer_challenge(why: str | None) -> JSONResponse:
    """RFC 6750 §3: no error code when no token was sent, invalid_token for a bad one."""
    if why is None:
        return JSONResponse({"error": "unauthorized"}, 401, headers=_bearer_header(None))
    description = f"The access token {why}" if why != "unknown" else "The access token is invalid"
    return JSONResponse(
        {"error": "invalid_token", "error_description": description},
        401,
        headers=_bearer_header("invalid_token", description),
    )
