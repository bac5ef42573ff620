"""The OAuth 1.0a provider (RFC 5849 three-legged flow) and its protected API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from urllib.parse import urlencode, urlsplit

from oauthlib.oauth1.rfc5849 import signature as oauth1_signature
from oauthlib.oauth1.rfc5849 import utils as oauth1_utils
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from plugboard.testing.provider.api import echo, prelude
from plugboard.testing.provider.common import (
    FORM,
    NO_STORE,
    REALM,
    Note,
    Refusal,
    media_type,
    read_form,
    same,
    with_params,
)
from plugboard.testing.provider.pages import consent_page, error_page
from plugboard.testing.provider_state import (
    Account,
    ConsentMode,
    ConsentTicket,
    OAuth1Token,
    ProviderState,
    RequestToken,
    new_token,
)


def _verify(
    state: ProviderState,
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
    if media_type(request) == FORM:
        try:
            form_text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _problem(400, "parameter_rejected") from None
    try:
        params: list[tuple[str, str]] = oauth1_signature.collect_parameters(
            uri_query=query,
            body=form_text,
            headers={"Authorization": oauth_header} if oauth_header else None,
            exclude_oauth_signature=False,
            with_realm=False,
        )
    except ValueError:
        raise _problem(400, "parameter_rejected") from None
    signatures = [v for k, v in params if k == "oauth_signature"]
    if len(signatures) != 1:
        raise _problem(400, "parameter_absent", "oauth_signature")
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
                raise _problem(400, "parameter_rejected", name)
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
        raise _problem(400, "parameter_absent", ",".join(absent))
    if oauth.get("oauth_version", "1.0") != "1.0":
        raise _problem(400, "version_rejected")
    if oauth["oauth_signature_method"] != "HMAC-SHA1":
        raise _problem(400, "signature_method_rejected")
    note.client_id = oauth["oauth_consumer_key"]
    consumer = state.oauth1_consumers.get(oauth["oauth_consumer_key"])
    if consumer is None:
        raise _problem(401, "consumer_key_unknown")
    try:
        timestamp = int(oauth["oauth_timestamp"])
    except ValueError:
        raise _problem(400, "parameter_rejected", "oauth_timestamp") from None
    if abs(state.now().timestamp() - timestamp) > state.oauth1_timestamp_window:
        raise _problem(401, "timestamp_refused")
    token = oauth.get("oauth_token", "")
    secret = ""
    if token_secret is not None:
        found = token_secret(consumer.key, token)
        if found is None:
            raise _problem(401, "token_rejected")
        secret = found
    elif token:
        raise _problem(400, "parameter_rejected", "oauth_token")
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
    if not same(expected, signatures[0]):
        raise _problem(401, "signature_invalid")
    nonce_key = (consumer.key, token, oauth["oauth_timestamp"], oauth["oauth_nonce"])
    with state.lock:
        if nonce_key in state.oauth1_nonces:
            raise _problem(401, "nonce_used")
        state.oauth1_nonces.add(nonce_key)
    return {**{k: v for k, v in params if not k.startswith("oauth_")}, **oauth}


async def request_token(state: ProviderState, request: Request, note: Note) -> Response:
    params = _verify(state, request, await request.body(), note, None)
    callback = params.get("oauth_callback")
    if not callback:
        raise _problem(400, "parameter_absent", "oauth_callback")
    if callback != "oob" and urlsplit(callback).scheme not in ("http", "https"):
        raise _problem(400, "parameter_rejected", "oauth_callback")
    pending = RequestToken(
        new_token("rqt"), secrets.token_urlsafe(24), params["oauth_consumer_key"], callback
    )
    with state.lock:
        state.request_tokens[pending.token] = pending
    return _form_response(
        [
            ("oauth_token", pending.token),
            ("oauth_token_secret", pending.secret),
            ("oauth_callback_confirmed", "true"),
        ]
    )


async def authorize(state: ProviderState, request: Request, note: Note) -> Response:
    token = request.query_params.get("oauth_token", "")
    with state.lock:
        pending = state.request_tokens.get(token)
    if pending is None or pending.used or pending.verifier is not None:
        raise Refusal(
            error_page(400, "Invalid request token", "unknown or used oauth_token"),
            "token_rejected",
        )
    note.client_id = pending.consumer_key
    mode = state.consent_mode
    account = state.next_account
    if mode is ConsentMode.PAGE:
        ticket = new_token("consent")
        with state.lock:
            state.consent_tickets[ticket] = ConsentTicket("oauth1", {"oauth_token": token}, account)
        return consent_page(ticket, pending.consumer_key, "", account)
    approved = mode is ConsentMode.APPROVE
    if approved:
        note.account = account.sub
    return decide(state, token, account, approved)


def decide(state: ProviderState, token: str, account: Account, approved: bool) -> Response:
    with state.lock:
        pending = state.request_tokens[token]
        if not approved:
            pending.used = True
        else:
            pending.verifier = secrets.token_urlsafe(16)
            pending.account = account
    if not approved:
        if pending.callback == "oob":
            raise Refusal(error_page(200, "Access denied", "you denied access"), "denied")
        # What Twitter/X sends back when the user declines.
        raise Refusal(
            RedirectResponse(with_params(pending.callback, [("denied", token)]), 302),
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
        with_params(
            pending.callback, [("oauth_token", token), ("oauth_verifier", pending.verifier)]
        ),
        302,
    )


async def access_token(state: ProviderState, request: Request, note: Note) -> Response:
    def request_secret(consumer_key: str, token: str) -> str | None:
        pending = state.request_tokens.get(token)
        if pending is None or pending.used or pending.consumer_key != consumer_key:
            return None
        return pending.secret

    params = _verify(state, request, await request.body(), note, request_secret)
    with state.lock:
        pending = state.request_tokens[params["oauth_token"]]
        if pending.used:
            raise _problem(401, "token_used")
        verifier = params.get("oauth_verifier", "")
        if (
            pending.verifier is None
            or pending.account is None
            or not same(verifier, pending.verifier)
        ):
            raise _problem(401, "verifier_invalid")
        pending.used = True
        account = pending.account
        token, secret = state.issue_oauth1_token(pending.consumer_key, account)
    note.account = account.sub
    return _form_response(
        [
            ("oauth_token", token),
            ("oauth_token_secret", secret),
            ("user_id", account.sub),
            ("screen_name", account.preferred_username),
        ]
    )


async def api(state: ProviderState, request: Request, note: Note) -> Response:
    prelude(state, request, note)
    body = await request.body()
    account: list[OAuth1Token] = []

    def access_secret(consumer_key: str, token: str) -> str | None:
        found = state.oauth1_tokens.get(token)
        if found is None or found.revoked or found.consumer_key != consumer_key:
            return None
        account.append(found)
        return found.secret

    _verify(state, request, body, note, access_secret)
    sub = account[0].account.sub
    note.account = sub
    oauth_names = {k for k, _ in request.query_params.multi_items() if k.startswith("oauth_")}
    form = read_form(request, body) or []
    return echo(
        request,
        body,
        "oauth1",
        sub,
        hide_query=frozenset(oauth_names),
        hide_form=frozenset(k for k, _ in form if k.startswith("oauth_")),
        extra={"screen_name": account[0].account.preferred_username},
    )


def _problem(status: int, problem: str, parameters: str = "") -> Refusal:
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
