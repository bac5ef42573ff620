"""Following a notice's link as a person would, over real HTTP: the link (from an e-mail or a
webhook) → the login page (which offers the link's workspace) → the authorize page of that
connection → the consent form as the page fills it in → the provider's authorize URL → the
provider's redirect to Plugboard's callback, which stores the new credential.

Forms are read from the pages (html.parser), so the test sends what the page would send."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2

from plugboard.crypto.passwords import hash_password
from plugboard.usecases.runtime import Runtime

PASSWORD = "pw-for-the-notice-tests"


@dataclass
class _Form:
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    """The forms of a page with the values a browser would submit (hidden and text inputs,
    checked boxes), and every link."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(_Form(a.get("action", "")))
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "input" and self.forms and "name" in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind != "password":
                self.forms[-1].fields.append((a["name"], a.get("value", "")))


def parse(page: str) -> _Forms:
    forms = _Forms()
    forms.feed(page)
    return forms


def form_to(page: str, action: str) -> list[tuple[str, str]]:
    for form in parse(page).forms:
        if form.action == action:
            return form.fields
    raise AssertionError(f"no form posting to {action}")


def post_form(browser: httpx2.Client, action: str, pairs: list[tuple[str, str]]) -> httpx2.Response:
    """POST a form as a browser encodes it (repeated names kept, in order)."""
    return browser.post(
        action, content=urlencode(pairs),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )  # fmt: skip


def set_password(runtime: Runtime, email: str) -> None:
    with runtime.unit() as unit:
        unit.users.set_password_hash(unit.users.get(email).id, hash_password(PASSWORD))


@dataclass(frozen=True)
class Consent:
    """Where the link led: the authorize page, and the provider URL the consent started."""

    authorize_page: str
    provider_url: str
    query: dict[str, list[str]]


def follow_to_consent(
    base_url: str, link: str, email: str, *, connection: str, environments: list[str]
) -> tuple[httpx2.Client, Consent]:
    """Open ``link`` without a session, log in through the page it leads to, and start the
    consent the authorize page offers. Returns the logged-in client (close it) and the consent."""
    assert link.startswith(f"{base_url}/console/"), link
    target = link[len(base_url) :]
    browser = httpx2.Client(base_url=base_url, timeout=10)
    opened = browser.get(target)
    assert opened.status_code == 303, opened.text
    login_url = opened.headers["location"]
    assert login_url.startswith("/console/login?")
    login_page = browser.get(login_url)
    fields = dict(form_to(login_page.text, "/console/login"))
    assert fields["next"] == target
    # The login form offers the workspace the link is about.
    assert fields["workspace"] == parse_qs(urlsplit(link).query)["workspace"][0]
    landed = browser.post("/console/login", data={**fields, "email": email, "password": PASSWORD})
    assert landed.status_code == 303 and landed.headers["location"] == target, landed.text
    page = browser.get(target)
    assert page.status_code == 200, page.text
    action = f"/console/connections/{connection}/consent"
    consent_fields = form_to(page.text, action)
    # The environment the link names is the one the form sends (per-environment connections).
    chosen = [v for k, v in consent_fields if k == "environment"]
    assert chosen == environments, (chosen, environments)
    started = post_form(browser, action, consent_fields)
    assert started.status_code == 200, started.text
    provider = [u for u in parse(started.text).links if "/oauth2/authorize?" in u]
    assert len(provider) == 1, started.text
    query = parse_qs(urlsplit(provider[0]).query)
    return browser, Consent(page.text, provider[0], query)


def complete_consent(browser: httpx2.Client, consent: Consent, base_url: str) -> None:
    """Approve on the provider (it answers with a redirect to Plugboard's callback) and follow
    that redirect with the same browser, so the flow's state and session meet again."""
    approved = httpx2.get(consent.provider_url, timeout=10)
    assert approved.status_code == 302, approved.text
    callback = approved.headers["location"]
    assert callback.startswith(f"{base_url}/oauth/callback?")
    assert parse_qs(urlsplit(callback).query)["state"] == consent.query["state"]
    finished = browser.get(callback[len(base_url) :])
    assert finished.status_code in (200, 303), finished.text
