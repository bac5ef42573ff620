"""The test provider: a small third-party service Plugboard's tests talk to over real HTTP.

It plays the *far side* of every auth type and checks credentials the way real services do:

- an OAuth 2 authorization server (RFC 6749 code grant with RFC 7636 PKCE S256, refresh with
  optional rotation, RFC 7009 revocation, a userinfo endpoint, RFC 8414 metadata) and a
  protected API that accepts Bearer tokens (RFC 6750) and signals expiry in three styles;
- an OAuth 1.0a provider (RFC 5849 three-legged flow, HMAC-SHA1 verified server-side from the
  request as received, timestamp window and nonce replay check);
- API key, HTTP Basic and AWS Signature V4 protected APIs (SigV4 recomputed from the received
  request with :mod:`plugboard.auth.sigv4`'s pure functions).

Everything it knows and every switch lives in a :class:`ProviderState`; every request is
recorded there as a :class:`Call` (names and outcomes, never credential values).

Independence matters more than reuse here: PKCE and the OAuth 1 signature are recomputed with
hashlib/hmac and oauthlib's server-side pieces rather than with Plugboard's client code, so a
client bug cannot be cancelled out by the same bug on this side. SigV4 reuses the pure functions
(they are pinned by the AWS test suite) but parses everything it feeds them from the wire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

import anyio
from oauthlib.oauth1.rfc5849 import signature as oauth1_signature
from oauthlib.oauth1.rfc5849 import utils as oauth1_utils
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from plugboard.auth import sigv4
from plugboard.testing.provider_state import (
    AccessToken,
    Account,
    AuthCode,
    AwsCredential,
    Call,
    ClientAuth,
    ConsentMode,
    ConsentTicket,
    ExpirySignal,
    OAuth1Token,
    OAuth2Client,
    ProviderState,
    RequestToken,
    new_token,
)

__all__ = ["REALM", "create_provider_app"]

REALM = "plugboard-test-provider"
FORM = "application/x-www-form-urlencoded"
API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
_AWS_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)
# Headers the API echo never shows: they carry credentials.
_HIDDEN_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-amz-security-token"}
)


class Refusal(Exception):
    """Ends a request with ``response``; ``error`` is what the call log records."""

    def __init__(self, response: Response, error: str) -> None:
        super().__init__(error)
        self.response = response
        self.error = error


@dataclass(slots=True)
class Note:
    """What a handler learned about a request, for its :class:`Call` record."""

    client_id: str | None = None
    client_auth: str | None = None
    grant_type: str | None = None
    token_type_hint: str | None = None
    token_kind: str | None = None
    placement: str | None = None
    account: str | None = None
    scope: str | None = None
    canned: bool = False


Handler = Callable[[Request, Note], Awaitable[Response]]


# --- small HTTP helpers -------------------------------------------------------------------------


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _form(request: Request, body: bytes) -> list[tuple[str, str]] | None:
    """The form fields of a form-encoded body, or None for any other body."""
    if _media_type(request) != FORM:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(
            _oauth_error("invalid_request", "the form is not UTF-8"), "bad_form"
        ) from None
    return parse_qsl(text, keep_blank_values=True)


def _single(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    """A parameter that may appear at most once (RFC 6749 §3.1, §3.2)."""
    values = [value for key, value in pairs if key == name]
    if len(values) > 1:
        raise Refusal(_oauth_error("invalid_request", f"{name} is repeated"), "invalid_request")
    return values[0] if values else None


def _with_params(uri: str, params: Sequence[tuple[str, str]]) -> str:
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _oauth_error(
    error: str, description: str, status: int = 400, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An RFC 6749 §5.2 error response."""
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )


def _error_page(status: int, title: str, detail: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>"
        f"<p id='error'>{html.escape(detail)}</p></main></body></html>",
        status_code=status,
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic`` header, None when there is none."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")  # present but malformed: fails like a wrong password
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else ("", "")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _pkce_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


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


# --- the app ------------------------------------------------------------------------------------


class _Provider:
    def __init__(self, state: ProviderState) -> None:
        self.state = state

    def endpoint(self, name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler so every request is recorded once, with its outcome."""

        async def run(request: Request) -> Response:
            note = Note()
            error: str | None = None
            try:
                response = await handler(request, note)
            except Refusal as refusal:
                response, error = refusal.response, refusal.error
            self.state.record(
                Call(
                    endpoint=name,
                    method=request.method,
                    path=request.url.path,
                    status=response.status_code,
                    at=self.state.now(),
                    error=error,
                    **asdict(note),
                )
            )
            return response

        return run

    # --- OAuth 2: authorize and consent --------------------------------------------------------

    async def oauth2_authorize(self, request: Request, note: Note) -> Response:
        pairs = list(request.query_params.multi_items())
        try:
            client_id = _single(pairs, "client_id")
            redirect_uri = _single(pairs, "redirect_uri")
        except Refusal:
            return _error_page(400, "Invalid request", "client_id or redirect_uri is repeated")
        note.client_id = client_id
        client = self.state.oauth2_clients.get(client_id or "")
        # RFC 6749 §4.1.2.1: with an unknown client or redirect URI, never redirect.
        if client is None:
            raise Refusal(_error_page(400, "Unknown client", "no such client_id"), "invalid_client")
        if redirect_uri is None:
            if len(client.redirect_uris) != 1:
                raise Refusal(
                    _error_page(400, "Invalid request", "redirect_uri is required"),
                    "invalid_request",
                )
            target = client.redirect_uris[0]
        elif redirect_uri in client.redirect_uris:
            target = redirect_uri
        else:
            raise Refusal(
                _error_page(400, "Invalid redirect URI", "redirect_uri is not registered"),
                "invalid_redirect_uri",
            )
        state_param = request.query_params.get("state")

        def back(error: str, description: str) -> Refusal:
            params = [("error", error), ("error_description", description)]
            if state_param is not None:
                params.append(("state", state_param))
            return Refusal(RedirectResponse(_with_params(target, params), 302), error)

        try:
            response_type = _single(pairs, "response_type")
            scope = _single(pairs, "scope") or ""
            challenge = _single(pairs, "code_challenge")
            method = _single(pairs, "code_challenge_method") or "plain"
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
        mode = self.state.consent_mode
        account = self.state.next_account
        if mode is ConsentMode.DENY:
            raise back("access_denied", "the user denied the request")
        if mode is ConsentMode.PAGE:
            ticket = new_token("consent")
            with self.state.lock:
                self.state.consent_tickets[ticket] = ConsentTicket("oauth2", params, account)
            return _consent_page(ticket, client.client_id, scope, account)
        note.account = account.sub
        return self._oauth2_approved(params, account)

    def _oauth2_approved(self, params: dict[str, str], account: Account) -> Response:
        granted = self.state.grant_scope
        code = AuthCode(
            code=new_token("code"),
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"] if params["redirect_uri_given"] else None,
            challenge=params["challenge"] or None,
            scope=params["scope"] if granted is None else granted,
            account=account,
            expires_at=self.state.now() + timedelta(seconds=self.state.code_ttl),
            grant_id=new_token("grant"),
        )
        with self.state.lock:
            self.state.codes[code.code] = code
        out = [("code", code.code)]
        if "state" in params:
            out.append(("state", params["state"]))
        return RedirectResponse(_with_params(params["redirect_uri"], out), 302)

    async def consent(self, request: Request, note: Note) -> Response:
        """The consent page's form posts here (both OAuth 1 and OAuth 2)."""
        form = _form(request, await request.body()) or []
        ticket_id = _single(form, "ticket") or ""
        decision = _single(form, "decision")
        with self.state.lock:
            ticket = self.state.consent_tickets.pop(ticket_id, None)
        if ticket is None:
            raise Refusal(
                _error_page(400, "Consent expired", "this consent page was already answered"),
                "unknown_ticket",
            )
        params = ticket.params
        approved = decision == "approve"
        if approved:
            note.account = ticket.account.sub
        if ticket.kind == "oauth1":
            return self._oauth1_decided(params["oauth_token"], ticket.account, approved)
        note.client_id = params["client_id"]
        if approved:
            return self._oauth2_approved(params, ticket.account)
        out = [("error", "access_denied"), ("error_description", "the user denied the request")]
        if "state" in params:
            out.append(("state", params["state"]))
        raise Refusal(
            RedirectResponse(_with_params(params["redirect_uri"], out), 302), "access_denied"
        )

    # --- OAuth 2: token, revoke, userinfo ------------------------------------------------------

    def _authenticate_client(
        self, request: Request, form: Sequence[tuple[str, str]], note: Note
    ) -> OAuth2Client:
        """RFC 6749 §2.3: exactly one method, and the one the client is registered for."""
        basic = _basic_credentials(request)
        form_id = _single(form, "client_id")
        form_secret = _single(form, "client_secret")
        if basic is not None and form_secret is not None:
            raise Refusal(
                _oauth_error("invalid_request", "more than one client authentication method"),
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
            raise Refusal(
                self._invalid_client("client authentication is required", True), "invalid_client"
            )
        note.client_id, note.client_auth = client_id, used.value
        client = self.state.oauth2_clients.get(client_id)
        challenge = basic is not None or (
            client is not None and client.auth_method is ClientAuth.BASIC
        )
        if client is None:
            raise Refusal(self._invalid_client("unknown client", challenge), "invalid_client")
        if used is not client.auth_method:
            raise Refusal(
                self._invalid_client(
                    f"this client must authenticate with {client.auth_method.value}", challenge
                ),
                "invalid_client",
            )
        if secret is not None and not _same(secret, client.client_secret):
            raise Refusal(
                self._invalid_client("bad client credentials", challenge), "invalid_client"
            )
        return client

    @staticmethod
    def _invalid_client(description: str, challenge: bool) -> JSONResponse:
        headers = {"WWW-Authenticate": f'Basic realm="{REALM}"'} if challenge else None
        return _oauth_error("invalid_client", description, 401, headers)

    async def oauth2_token(self, request: Request, note: Note) -> Response:
        body = await request.body()  # read first: a client that goes away is still served
        form = _form(request, body)
        presented = _single(form, "refresh_token") if form is not None else None
        state = self.state
        with state.lock:
            if presented and state.refuse_refresh_in_use:
                if state.refreshes_in_progress[presented]:
                    raise self._invalid_grant("the refresh token is in use by another request")
            if presented:
                state.refreshes_in_progress[presented] += 1
        try:
            response = await self._oauth2_token(request, form, note)
            if state.token_answer_delay > 0:
                await anyio.sleep(state.token_answer_delay)  # issued; the answer is on its way
            return response
        finally:
            if presented:
                with state.lock:
                    state.refreshes_in_progress[presented] -= 1
                    if state.refreshes_in_progress[presented] <= 0:
                        del state.refreshes_in_progress[presented]

    async def _oauth2_token(
        self, request: Request, form: list[tuple[str, str]] | None, note: Note
    ) -> Response:
        delay = self.state.token_endpoint_delay
        if delay > 0:
            await anyio.sleep(delay)
        failure = self.state.fail_token_endpoint_with
        if form is not None:
            # Recorded even for a simulated outage, so tests can count attempts per grant type.
            note.grant_type = next((v for k, v in form if k == "grant_type"), None)
        if failure is not None:
            error = "temporarily_unavailable" if failure == 503 else "server_error"
            raise Refusal(_oauth_error(error, "simulated outage", failure), error)
        if form is None:
            raise Refusal(
                _oauth_error("invalid_request", f"the body must be {FORM}"), "invalid_request"
            )
        grant_type = _single(form, "grant_type")
        client = self._authenticate_client(request, form, note)
        if grant_type == "authorization_code":
            answer = self._code_grant(client, form, note)
        elif grant_type == "refresh_token":
            answer = self._refresh_grant(client, form, note)
        elif grant_type is None:
            raise Refusal(
                _oauth_error("invalid_request", "grant_type is required"), "invalid_request"
            )
        else:
            raise Refusal(
                _oauth_error("unsupported_grant_type", f"{grant_type} is not supported"),
                "unsupported_grant_type",
            )
        return JSONResponse(answer, headers=NO_STORE)

    @staticmethod
    def _invalid_grant(description: str) -> Refusal:
        return Refusal(_oauth_error("invalid_grant", description), "invalid_grant")

    def _code_grant(
        self, client: OAuth2Client, form: Sequence[tuple[str, str]], note: Note
    ) -> dict[str, Any]:
        code_value = _single(form, "code")
        redirect_uri = _single(form, "redirect_uri")
        verifier = _single(form, "code_verifier")
        state = self.state
        with state.lock:
            code = state.codes.get(code_value or "")
            if code is None or code.client_id != client.client_id:
                raise self._invalid_grant("unknown authorization code")
            if code.used:
                # RFC 6749 §4.1.2: a replayed code revokes what it was exchanged for.
                state.revoke_grant(code.grant_id)
                raise self._invalid_grant("authorization code already used")
            # Burnt by any attempt, so a verifier cannot be guessed against one code.
            code.used = True
            if state.now() >= code.expires_at:
                raise self._invalid_grant("authorization code expired")
            if code.redirect_uri is not None and redirect_uri != code.redirect_uri:
                raise self._invalid_grant("redirect_uri does not match the authorization request")
            if code.challenge is not None:
                if verifier is None:
                    raise self._invalid_grant("code_verifier is required")
                if not _PKCE_VERIFIER.fullmatch(verifier):
                    raise self._invalid_grant("code_verifier is malformed")
                if not _same(_pkce_s256(verifier), code.challenge):
                    raise self._invalid_grant("code_verifier does not match the code_challenge")
            elif verifier is not None:
                raise self._invalid_grant("code_verifier sent but no code_challenge was")
            note.account, note.scope = code.account.sub, code.scope
            return state.issue_tokens(
                client.client_id, code.account, code.scope, grant_id=code.grant_id
            )

    def _refresh_grant(
        self, client: OAuth2Client, form: Sequence[tuple[str, str]], note: Note
    ) -> dict[str, Any]:
        value = _single(form, "refresh_token")
        scope = _single(form, "scope")
        state = self.state
        with state.lock:
            if state.reject_refresh:
                raise self._invalid_grant("the refresh token was revoked or expired")
            refresh = state.refresh_tokens.get(value or "")
            if refresh is None or refresh.client_id != client.client_id:
                raise self._invalid_grant("invalid refresh token")
            if not refresh.active:
                if not state.reusable(refresh):
                    raise self._invalid_grant("invalid refresh token")
                refresh.reused = True  # within the reuse grace period: once
            if scope is not None and not set(scope.split()) <= set(refresh.scope.split()):
                raise Refusal(
                    _oauth_error("invalid_scope", "scope exceeds the original grant"),
                    "invalid_scope",
                )
            note.account, note.scope = refresh.account.sub, scope or refresh.scope
            return state.rotate(refresh, scope)

    async def oauth2_revoke(self, request: Request, note: Note) -> Response:
        form = _form(request, await request.body())
        if form is None:
            raise Refusal(
                _oauth_error("invalid_request", f"the body must be {FORM}"), "invalid_request"
            )
        client = self._authenticate_client(request, form, note)
        token = _single(form, "token")
        note.token_type_hint = _single(form, "token_type_hint")
        if token is None:
            raise Refusal(_oauth_error("invalid_request", "token is required"), "invalid_request")
        state = self.state
        with state.lock:
            access = state.access_tokens.get(token)
            refresh = state.refresh_tokens.get(token)
            owner = access.client_id if access else refresh.client_id if refresh else None
            if owner is not None and owner != client.client_id:
                raise Refusal(
                    _oauth_error("unauthorized_client", "the token belongs to another client"),
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

    def _access_token(self, token: str | None) -> tuple[AccessToken | None, str]:
        """The live access token, or None and why not (unknown | revoked | expired)."""
        with self.state.lock:
            access = self.state.access_tokens.get(token or "")
        if access is None:
            return None, "unknown"
        if access.revoked:
            return None, "revoked"
        if self.state.now() >= access.expires_at:
            return None, "expired"
        return access, ""

    async def oauth2_userinfo(self, request: Request, note: Note) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Refusal(_bearer_challenge(None), "missing_token")
        access, why = self._access_token(token.strip())
        if access is None:
            raise Refusal(_bearer_challenge(why), f"token_{why}")
        note.client_id, note.account = access.client_id, access.account.sub
        return JSONResponse(access.account.as_dict())

    async def metadata(self, request: Request, note: Note) -> Response:
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

    # --- the protected APIs --------------------------------------------------------------------

    def _prelude(self, request: Request, note: Note) -> None:
        """Count the hit and answer from the canned queue first (rate limits, outages)."""
        self.state.hit(request.url.path)
        canned = self.state.pop_canned()
        if canned is None:
            return
        note.canned = True
        if canned.status in (204, 304) or (canned.status < 200):
            response: Response = Response(status_code=canned.status, headers=dict(canned.headers))
        else:
            content = canned.json if canned.json is not None else {"error": f"HTTP {canned.status}"}
            response = JSONResponse(content, canned.status, headers=dict(canned.headers))
        raise Refusal(response, f"canned_{canned.status}")

    def _echo(
        self,
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
        form = _form(request, body)
        json_body: Any = None
        text: str | None = None
        if form is None and body:
            if _media_type(request) == "application/json" or _media_type(request).endswith("+json"):
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

    async def api_oauth2(self, request: Request, note: Note) -> Response:
        self._prelude(request, note)
        body = await request.body()
        found: list[tuple[str, str]] = []
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            found.append(("header", value.strip()))
        if self.state.accept_access_token_in_query:
            found += [("query", v) for v in request.query_params.getlist("access_token")]
        form = _form(request, body)
        if self.state.accept_access_token_in_form and form is not None:
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
        access, why = self._access_token(token)
        if access is None:
            raise Refusal(self._expiry_response(why), f"token_{why}")
        note.client_id, note.account, note.scope = (
            access.client_id,
            access.account.sub,
            access.scope,
        )
        return self._echo(
            request,
            body,
            "oauth2",
            access.account.sub,
            hide_query=frozenset({"access_token"}),
            hide_form=frozenset({"access_token"}),
            extra={"scope": access.scope},
        )

    def _expiry_response(self, why: str) -> Response:
        signal = self.state.expiry_signal
        if signal is ExpirySignal.BODY:
            slack = {"expired": "token_expired", "revoked": "token_revoked"}.get(
                why, "invalid_auth"
            )
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

    async def api_apikey(self, request: Request, note: Note) -> Response:
        self._prelude(request, note)
        body = await request.body()
        form = _form(request, body) or []
        query = list(request.query_params.multi_items())
        params = list(self.state.api_key_params)
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
            elif len(values) > 1 or not _same(values[0], param.prefix + param.value):
                raise Refusal(
                    JSONResponse({"error": "invalid_api_key", "message": "invalid API key"}, 401),
                    "invalid_api_key",
                )
        if missing or not params:
            raise Refusal(
                JSONResponse({"error": "missing_api_key", "message": "API key required"}, 401),
                "missing_api_key",
            )
        note.account = self.state.api_key_owner
        return self._echo(
            request,
            body,
            "apikey",
            self.state.api_key_owner,
            hide_query=frozenset(p.name for p in params if p.placement == "query"),
            hide_form=frozenset(p.name for p in params if p.placement == "form"),
            hide_headers=frozenset(p.name for p in params if p.placement == "header"),
        )

    async def api_basic(self, request: Request, note: Note) -> Response:
        self._prelude(request, note)
        body = await request.body()
        credentials = _basic_credentials(request)
        challenge = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
        if credentials is None:
            raise Refusal(
                JSONResponse({"error": "unauthorized"}, 401, headers=challenge), "missing"
            )
        user, password = credentials
        note.placement = "header"
        expected = self.state.basic_users.get(user)
        if expected is None or not _same(password, expected):
            raise Refusal(
                JSONResponse({"error": "unauthorized"}, 401, headers=challenge), "bad_credentials"
            )
        note.account = user
        return self._echo(request, body, "basic", user)

    # --- AWS Signature V4 ----------------------------------------------------------------------

    async def api_aws(self, request: Request, note: Note) -> Response:
        self._prelude(request, note)
        body = await request.body()
        note.placement = "header"
        credential, scope = self._verify_sigv4(request, body)
        note.account, note.client_id = credential.account, credential.access_key
        return self._echo(
            request,
            body,
            "aws",
            credential.account,
            extra={"service": scope[2], "region": scope[1]},
        )

    def _verify_sigv4(self, request: Request, body: bytes) -> tuple[AwsCredential, list[str]]:
        header = request.headers.get("authorization")
        if header is None:
            raise _aws_error(
                403, "MissingAuthenticationToken", "Request is missing Authentication Token"
            )
        match = _AWS_AUTH.fullmatch(header.strip())
        if match is None:
            raise _aws_error(400, "IncompleteSignature", "Authorization header is malformed")
        access_key, _, scope_text = match["credential"].partition("/")
        scope = scope_text.split("/")
        if len(scope) != 4 or scope[3] != "aws4_request":
            raise _aws_error(400, "IncompleteSignature", "Credential scope is malformed", scope)
        date, region, service, _ = scope
        credential = self.state.aws_credentials.get(access_key)
        if credential is None:
            raise _aws_error(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                scope,
            )
        token = request.headers.get("x-amz-security-token")
        if (credential.session_token or token) and (
            token is None
            or credential.session_token is None
            or not _same(token, credential.session_token)
        ):
            raise _aws_error(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                scope,
            )
        amz_date = request.headers.get("x-amz-date", "")
        try:
            sent_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _aws_error(
                403, "IncompleteSignature", "X-Amz-Date is missing or malformed", scope
            ) from None
        now = self.state.now()
        if abs((now - sent_at).total_seconds()) > self.state.aws_max_skew:
            raise _aws_error(
                403,
                "SignatureDoesNotMatch",
                f"Signature expired: {amz_date} is now earlier than "
                f"{(now - timedelta(seconds=self.state.aws_max_skew)):%Y%m%dT%H%M%SZ}",
                scope,
            )
        if date != amz_date[:8]:
            raise _aws_error(
                403,
                "SignatureDoesNotMatch",
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                "from HTTP",
                scope,
            )
        for expected, got, what in (
            (self.state.aws_region, region, "region"),
            (self.state.aws_service, service, "service"),
        ):
            if expected is not None and got != expected:
                raise _aws_error(
                    403,
                    "SignatureDoesNotMatch",
                    f"Credential should be scoped to a valid {what}, not '{got}'.",
                    scope,
                )
        body_hash = hashlib.sha256(body).hexdigest()
        claimed = request.headers.get("x-amz-content-sha256")
        if claimed is not None and claimed not in (body_hash, sigv4.UNSIGNED_PAYLOAD):
            raise _aws_error(
                400,
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                scope,
            )
        signed_names = match["signed"].split(";")
        if "host" not in signed_names:
            raise _aws_error(403, "SignatureDoesNotMatch", "'Host' must be a signed header", scope)
        headers: list[tuple[str, str]] = []
        for name in signed_names:
            values = request.headers.getlist(name)
            if not values:
                raise _aws_error(
                    403, "SignatureDoesNotMatch", f"Signed header {name} is missing", scope
                )
            headers += [(name, value) for value in values]
        raw_path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
        creq = sigv4.canonical_request(
            request.method,
            raw_path.decode("latin-1"),
            request.scope.get("query_string", b"").decode("latin-1"),
            headers,
            claimed or body_hash,
            service=service,
        )
        to_sign = sigv4.string_to_sign(creq, amz_date, "/".join(scope))
        expected_signature = sigv4.signature(
            credential.secret_key, to_sign, amz_date, region, service
        )
        if not _same(expected_signature, match["signature"]):
            raise _aws_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.",
                scope,
            )
        return credential, scope

    # --- OAuth 1.0a ----------------------------------------------------------------------------

    def _verify_oauth1(
        self,
        request: Request,
        body: bytes,
        note: Note,
        token_secret: Callable[[str, str], str | None] | None,
    ) -> dict[str, str]:
        """Check a signed request as received; returns its oauth_* (and other) parameters.

        ``token_secret(consumer_key, token)`` finds the token's secret (None: unknown token);
        without it the request must carry no token (the temporary-credentials request).
        """
        header = request.headers.get("authorization", "")
        oauth_header = header if header[:6].lower() == "oauth " else ""
        query = request.scope.get("query_string", b"").decode("latin-1")
        form_text: str | None = None
        if _media_type(request) == FORM:
            try:
                form_text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise _oauth1_problem(400, "parameter_rejected") from None
        try:
            params: list[tuple[str, str]] = oauth1_signature.collect_parameters(
                uri_query=query,
                body=form_text,
                headers={"Authorization": oauth_header} if oauth_header else None,
                exclude_oauth_signature=False,
                with_realm=False,
            )
        except ValueError:
            raise _oauth1_problem(400, "parameter_rejected") from None
        signatures = [v for k, v in params if k == "oauth_signature"]
        if len(signatures) != 1:
            raise _oauth1_problem(400, "parameter_absent", "oauth_signature")
        note.placement = (
            "header"
            if "oauth_signature" in oauth_header
            else "query"
            if "oauth_signature=" in query
            else "form"
        )
        oauth: dict[str, str] = {}
        for name, value in params:
            if name.startswith("oauth_"):
                if name in oauth:
                    raise _oauth1_problem(400, "parameter_rejected", name)
                oauth[name] = value
        required = [
            "oauth_consumer_key",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_nonce",
        ]
        if token_secret is not None:
            required.append("oauth_token")
        absent = [name for name in required if not oauth.get(name)]
        if absent:
            raise _oauth1_problem(400, "parameter_absent", ",".join(absent))
        if oauth.get("oauth_version", "1.0") != "1.0":
            raise _oauth1_problem(400, "version_rejected")
        if oauth["oauth_signature_method"] != "HMAC-SHA1":
            raise _oauth1_problem(400, "signature_method_rejected")
        note.client_id = oauth["oauth_consumer_key"]
        consumer = self.state.oauth1_consumers.get(oauth["oauth_consumer_key"])
        if consumer is None:
            raise _oauth1_problem(401, "consumer_key_unknown")
        try:
            timestamp = int(oauth["oauth_timestamp"])
        except ValueError:
            raise _oauth1_problem(400, "parameter_rejected", "oauth_timestamp") from None
        if abs(self.state.now().timestamp() - timestamp) > self.state.oauth1_timestamp_window:
            raise _oauth1_problem(401, "timestamp_refused")
        token = oauth.get("oauth_token", "")
        secret = ""
        if token_secret is not None:
            found = token_secret(consumer.key, token)
            if found is None:
                raise _oauth1_problem(401, "token_rejected")
            secret = found
        elif token:
            raise _oauth1_problem(400, "parameter_rejected", "oauth_token")
        raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
        host = request.headers.get("host", "")
        uri = oauth1_signature.base_string_uri(f"{request.url.scheme}://{host}{raw_path}")
        base = oauth1_signature.signature_base_string(
            request.method.upper(),
            uri,
            oauth1_signature.normalize_parameters(
                [(k, v) for k, v in params if k != "oauth_signature"]
            ),
        )
        key = f"{oauth1_utils.escape(consumer.secret)}&{oauth1_utils.escape(secret)}"
        expected = base64.b64encode(
            hmac.new(key.encode("utf-8"), base.encode("utf-8"), hashlib.sha1).digest()
        ).decode("ascii")
        if not _same(expected, signatures[0]):
            raise _oauth1_problem(401, "signature_invalid")
        nonce_key = (consumer.key, token, oauth["oauth_timestamp"], oauth["oauth_nonce"])
        with self.state.lock:
            if nonce_key in self.state.oauth1_nonces:
                raise _oauth1_problem(401, "nonce_used")
            self.state.oauth1_nonces.add(nonce_key)
        return {**{k: v for k, v in params if not k.startswith("oauth_")}, **oauth}

    async def oauth1_request_token(self, request: Request, note: Note) -> Response:
        params = self._verify_oauth1(request, await request.body(), note, None)
        callback = params.get("oauth_callback")
        if not callback:
            raise _oauth1_problem(400, "parameter_absent", "oauth_callback")
        if callback != "oob" and urlsplit(callback).scheme not in ("http", "https"):
            raise _oauth1_problem(400, "parameter_rejected", "oauth_callback")
        pending = RequestToken(
            new_token("rqt"), secrets.token_urlsafe(24), params["oauth_consumer_key"], callback
        )
        with self.state.lock:
            self.state.request_tokens[pending.token] = pending
        return _form_response(
            [
                ("oauth_token", pending.token),
                ("oauth_token_secret", pending.secret),
                ("oauth_callback_confirmed", "true"),
            ]
        )

    async def oauth1_authorize(self, request: Request, note: Note) -> Response:
        token = request.query_params.get("oauth_token", "")
        with self.state.lock:
            pending = self.state.request_tokens.get(token)
        if pending is None or pending.used or pending.verifier is not None:
            raise Refusal(
                _error_page(400, "Invalid request token", "unknown or used oauth_token"),
                "token_rejected",
            )
        note.client_id = pending.consumer_key
        mode = self.state.consent_mode
        account = self.state.next_account
        if mode is ConsentMode.PAGE:
            ticket = new_token("consent")
            with self.state.lock:
                self.state.consent_tickets[ticket] = ConsentTicket(
                    "oauth1", {"oauth_token": token}, account
                )
            return _consent_page(ticket, pending.consumer_key, "", account)
        approved = mode is ConsentMode.APPROVE
        if approved:
            note.account = account.sub
        return self._oauth1_decided(token, account, approved)

    def _oauth1_decided(self, token: str, account: Account, approved: bool) -> Response:
        with self.state.lock:
            pending = self.state.request_tokens[token]
            if not approved:
                pending.used = True
            else:
                pending.verifier = secrets.token_urlsafe(16)
                pending.account = account
        if not approved:
            if pending.callback == "oob":
                raise Refusal(_error_page(200, "Access denied", "you denied access"), "denied")
            # What Twitter/X sends back when the user declines.
            raise Refusal(
                RedirectResponse(_with_params(pending.callback, [("denied", token)]), 302),
                "denied",
            )
        assert pending.verifier is not None
        if pending.callback == "oob":
            return HTMLResponse(
                "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>PIN</title>"
                f"</head><body><p>Your PIN: <code id='verifier'>{pending.verifier}</code></p>"
                "</body></html>"
            )
        return RedirectResponse(
            _with_params(
                pending.callback, [("oauth_token", token), ("oauth_verifier", pending.verifier)]
            ),
            302,
        )

    async def oauth1_access_token(self, request: Request, note: Note) -> Response:
        def request_secret(consumer_key: str, token: str) -> str | None:
            pending = self.state.request_tokens.get(token)
            if pending is None or pending.used or pending.consumer_key != consumer_key:
                return None
            return pending.secret

        params = self._verify_oauth1(request, await request.body(), note, request_secret)
        with self.state.lock:
            pending = self.state.request_tokens[params["oauth_token"]]
            if pending.used:
                raise _oauth1_problem(401, "token_used")
            verifier = params.get("oauth_verifier", "")
            if (
                pending.verifier is None
                or pending.account is None
                or not _same(verifier, pending.verifier)
            ):
                raise _oauth1_problem(401, "verifier_invalid")
            pending.used = True
            account = pending.account
            token, secret = self.state.issue_oauth1_token(pending.consumer_key, account)
        note.account = account.sub
        return _form_response(
            [
                ("oauth_token", token),
                ("oauth_token_secret", secret),
                ("user_id", account.sub),
                ("screen_name", account.preferred_username),
            ]
        )

    async def api_oauth1(self, request: Request, note: Note) -> Response:
        self._prelude(request, note)
        body = await request.body()
        account: list[OAuth1Token] = []

        def access_secret(consumer_key: str, token: str) -> str | None:
            found = self.state.oauth1_tokens.get(token)
            if found is None or found.revoked or found.consumer_key != consumer_key:
                return None
            account.append(found)
            return found.secret

        self._verify_oauth1(request, body, note, access_secret)
        sub = account[0].account.sub
        note.account = sub
        oauth_names = {k for k, _ in request.query_params.multi_items() if k.startswith("oauth_")}
        form = _form(request, body) or []
        return self._echo(
            request,
            body,
            "oauth1",
            sub,
            hide_query=frozenset(oauth_names),
            hide_form=frozenset(k for k, _ in form if k.startswith("oauth_")),
            extra={"screen_name": account[0].account.preferred_username},
        )

    async def health(self, request: Request, note: Note) -> Response:
        return JSONResponse({"ok": True})


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


def _oauth1_problem(status: int, problem: str, parameters: str = "") -> Refusal:
    """The OAuth Problem Reporting extension's form-encoded error body."""
    fields = [("oauth_problem", problem)]
    if parameters:
        key = (
            "oauth_parameters_absent"
            if problem == "parameter_absent"
            else "oauth_parameters_rejected"
        )
        fields.append((key, parameters))
    response = Response(
        urlencode(fields),
        status_code=status,
        media_type=FORM,
        headers={"WWW-Authenticate": f'OAuth realm="{REALM}"'} if status == 401 else None,
    )
    return Refusal(response, problem)


def _form_response(fields: Sequence[tuple[str, str]]) -> Response:
    return Response(urlencode(fields), media_type=FORM, headers=NO_STORE)


def _aws_error(status: int, code: str, message: str, scope: list[str] | None = None) -> Refusal:
    """An error as the service named in the credential scope would shape it."""
    service = scope[2] if scope and len(scope) > 2 else ""
    request_id = str(uuid.uuid4())
    response: Response
    if service == "dynamodb":
        response = JSONResponse(
            {"__type": f"com.amazon.coral.service#{code}", "message": message},
            status,
            media_type="application/x-amz-json-1.0",
        )
    elif service == "s3":
        response = Response(
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            f"<Error><Code>{code}</Code><Message>{html.escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>",
            status_code=status,
            media_type="application/xml",
        )
    else:
        response = Response(
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{html.escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>",
            status_code=status,
            media_type="text/xml",
        )
    response.headers["x-amzn-RequestId"] = request_id
    return Refusal(response, code)


def _consent_page(ticket: str, client: str, scope: str, account: Account) -> HTMLResponse:
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in scope.split()) or "<li>basic access</li>"
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Authorize {html.escape(client)}</title></head><body><main>"
        f"<h1>Authorize <span id='client'>{html.escape(client)}</span></h1>"
        f"<p>Signed in as <strong id='account'>{html.escape(account.name)}</strong> "
        f"({html.escape(account.email)})</p>"
        f"<p>It asks for:</p><ul id='scopes'>{scopes}</ul>"
        "<form method='post' action='/consent'>"
        f"<input type='hidden' name='ticket' value='{html.escape(ticket)}'>"
        "<button type='submit' id='approve' name='decision' value='approve'>Approve</button> "
        "<button type='submit' id='deny' name='decision' value='deny'>Deny</button>"
        "</form></main></body></html>"
    )


def create_provider_app(state: ProviderState | None = None) -> Starlette:
    """The provider as an ASGI app; ``app.state.provider`` is its :class:`ProviderState`."""
    state = state if state is not None else ProviderState()
    provider = _Provider(state)
    p = provider.endpoint
    routes = [
        Route("/health", p("health", provider.health)),
        Route("/.well-known/oauth-authorization-server", p("oauth2.metadata", provider.metadata)),
        Route("/oauth2/authorize", p("oauth2.authorize", provider.oauth2_authorize)),
        Route("/consent", p("consent", provider.consent), methods=["POST"]),
        Route("/oauth2/token", p("oauth2.token", provider.oauth2_token), methods=["POST"]),
        Route("/oauth2/revoke", p("oauth2.revoke", provider.oauth2_revoke), methods=["POST"]),
        Route(
            "/oauth2/userinfo",
            p("oauth2.userinfo", provider.oauth2_userinfo),
            methods=["GET", "POST"],
        ),
        Route(
            "/oauth1/request_token",
            p("oauth1.request_token", provider.oauth1_request_token),
            methods=["POST"],
        ),
        Route("/oauth1/authorize", p("oauth1.authorize", provider.oauth1_authorize)),
        Route(
            "/oauth1/access_token",
            p("oauth1.access_token", provider.oauth1_access_token),
            methods=["POST"],
        ),
        Route("/api/oauth2/{path:path}", p("api.oauth2", provider.api_oauth2), methods=API_METHODS),
        Route("/api/oauth1/{path:path}", p("api.oauth1", provider.api_oauth1), methods=API_METHODS),
        Route("/api/apikey/{path:path}", p("api.apikey", provider.api_apikey), methods=API_METHODS),
        Route("/api/basic/{path:path}", p("api.basic", provider.api_basic), methods=API_METHODS),
        Route("/api/aws/{path:path}", p("api.aws", provider.api_aws), methods=API_METHODS),
    ]
    app = Starlette(routes=routes)
    app.state.provider = state
    return app
