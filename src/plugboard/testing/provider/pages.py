"""The test provider's HTML pages: errors shown instead of a redirect, and the consent page."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

from plugboard.testing.provider_state import Account


def error_page(status: int, title: str, detail: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>"
        f"<p id='error'>{html.escape(detail)}</p></main></body></html>",
        status_code=status,
    )


def consent_page(ticket: str, client: str, scope: str, account: Account) -> HTMLResponse:
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
