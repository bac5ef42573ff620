"""The whole path inside `plugboard serve` (the in-process runner, as on the embedded SQLite
default; run here on both databases): an unused authorization the provider refuses to refresh
(invalid_grant) becomes expired, exactly the people who can authorize it again get exactly one
e-mail each from a real SMTP server on 127.0.0.1, and the link in it, followed, opens that
connection's authorize page and starts the right consent."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from pydantic import SecretStr

from plugboard.crypto.passwords import hash_password
from plugboard.domain.clock import SystemClock
from plugboard.server.app import create_app
from plugboard.threaded_server import ThreadedServer
from plugboard.usecases.runtime import Runtime
from tests.integration.jobs.support import OAuthWorld, SmtpServer

# Who may authorize an admin-level connection in the developer workspace acme (tests/stack.py
# ROLES: root super admin, admin, dev and dev2 developers; `user` may not).
EXPECTED = {"root@acme.test", "admin@acme.test", "dev@acme.test", "dev2@acme.test"}


def _wait_for(check: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the background jobs")
        time.sleep(0.1)


@pytest.fixture
def served(oauth: OAuthWorld, smtp: SmtpServer) -> Iterator[tuple[OAuthWorld, str]]:
    server = ThreadedServer(None, name="plugboard", lifespan="on")
    base_url = server.bind()
    settings = oauth.runtime.settings.model_copy(
        update={"base_url": base_url, "smtp_url": SecretStr(smtp.url), "jobs_tick_seconds": 1}
    )
    # Real time: the runner's periods and the tokens' expiry follow the wall clock.
    runtime: Runtime = replace(oauth.runtime, settings=settings, clock=SystemClock())
    world = replace(oauth, runtime=runtime)
    world.service("tp2")  # registered with this server's callback URL
    server.app = create_app(settings, runtime=runtime, run_jobs=True)
    server.start()
    try:
        yield world, base_url
    finally:
        server.stop()


def test_invalid_grant_mails_exactly_the_right_people_once_with_a_working_link(
    served: tuple[OAuthWorld, str], smtp: SmtpServer
) -> None:
    world, base_url = served
    world.connection("crm", service="tp2")
    world.authorize("crm", expires_in=120)  # unused, inside the refresh horizon
    world.provider.state.reject_refresh = True

    _wait_for(lambda: len(smtp.inbox.messages) >= len(EXPECTED))
    time.sleep(2.5)  # more ticks: nothing more is sent
    recipients = [rcpt for _, rcpts in smtp.inbox.envelopes for rcpt in rcpts]
    assert sorted(recipients) == sorted(EXPECTED)  # one each, nobody else
    message = smtp.inbox.to("dev@acme.test")[0]
    assert message["Subject"] == "The authorization of Test Provider Connection has expired"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"Authorize it again: (\S+)", text).group(1)  # type: ignore[union-attr]
    assert html.escape(link) in page
    assert link.startswith(f"{base_url}/console/connections/crm/authorize?")
    assert parse_qs(urlsplit(link).query) == {"environment": ["all"], "workspace": ["acme"]}
    assert "invalid_grant" in text
    secrets = list(world.provider.state.refresh_tokens) + list(world.provider.state.access_tokens)
    for m in smtp.inbox.messages:
        raw = m.as_string()
        assert not any(s in raw for s in secrets) and "client_secret" not in raw

    # The person follows the link: log in, land on the authorize page, start the consent.
    with world.runtime.unit() as unit:
        user = unit.users.get("dev@acme.test")
        unit.users.set_password_hash(user.id, hash_password("pw-for-the-test"))
    target = link[len(base_url) :]
    with httpx2.Client(base_url=base_url, timeout=10) as browser:
        landed = browser.post(
            "/console/login",
            data={"email": "dev@acme.test", "password": "pw-for-the-test",
                  "workspace": "acme", "next": target},
        )  # fmt: skip
        assert landed.status_code == 303 and landed.headers["location"] == target
        authorize_page = browser.get(target)
        assert authorize_page.status_code == 200 and "crm" in authorize_page.text
        consent = browser.post(
            "/console/connections/crm/consent",
            data={"environment": "all", "csrf_token": browser.cookies["pb_csrf"]},
        )
        assert consent.status_code == 200
        provider_url = re.search(r'href="([^"]*/oauth2/authorize[^"]*)"', consent.text)
        assert provider_url is not None
        query = parse_qs(urlsplit(html.unescape(provider_url.group(1))).query)
        assert query["client_id"] == [world.client_id]
        assert query["redirect_uri"] == [f"{base_url}/oauth/callback"]
