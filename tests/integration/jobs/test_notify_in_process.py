"""The whole path inside `plugboard serve` (the in-process runner, as on the embedded SQLite
default; run here on both databases): an unused authorization the provider refuses to refresh
(invalid_grant) becomes expired, exactly the people who can authorize it again get exactly one
e-mail each from a real SMTP server on 127.0.0.1, and the link in it, followed, opens that
connection's authorize page and starts the right consent; so does the link of the one signed
webhook the same event sends."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from plugboard.domain.clock import SystemClock
from plugboard.domain.models import AuthorizationStatus, ConnectionLevel
from plugboard.server.app import create_app
from plugboard.threaded_server import ThreadedServer
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.webhooks import Webhooks
from tests.integration.jobs.notice_links import complete_consent, follow_to_consent, set_password
from tests.integration.jobs.support import OAuthWorld, SmtpServer
from tests.integration.jobs.webhook_support import admin_of, receiving, verified_by_both
from tests.stack import Actor

# Who can authorize an expired admin-level connection again in the developer workspace acme
# (tests/stack.py ROLES: root super admin, dev and dev2 developers; the admin may authorize but
# not switch the account the expired authorization still holds; `user` may not).
EXPECTED = {"root@acme.test", "dev@acme.test", "dev2@acme.test"}


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


def test_invalid_grant_mails_and_hooks_exactly_once_with_links_that_start_the_consent(
    served: tuple[OAuthWorld, str], smtp: SmtpServer, members: Actor
) -> None:
    world, base_url = served
    world.connection("crm", service="tp2")
    hooks = Webhooks(world.runtime, admin_of(members))
    with receiving() as receiver:
        created = hooks.create(url=receiver.url, events=["authorization.expired"])
        world.authorize("crm", expires_in=120)  # unused, inside the refresh horizon
        world.provider.state.reject_refresh = True

        _wait_for(lambda: len(smtp.inbox.messages) >= len(EXPECTED) and bool(receiver.received))
        time.sleep(2.5)  # more ticks: nothing more is sent
        assert len(receiver.received) == 1
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
    hook = verified_by_both(created.secret, receiver.received[0])
    assert hook["type"] == "authorization.expired" and hook["data"]["link"] == link
    secrets = [*world.provider.state.refresh_tokens, *world.provider.state.access_tokens,
               created.secret.removeprefix("whsec_")]  # fmt: skip
    for raw in [m.as_string() for m in smtp.inbox.messages] + [receiver.received[0].text]:
        assert not any(s in raw for s in secrets) and "client_secret" not in raw

    # The webhook's link, followed by the super admin, starts the consent of crm with the service's
    # client, the connection's scopes and a fresh state ...
    set_password(world.runtime, "root@acme.test")
    browser, by_hook = follow_to_consent(
        base_url, hook["data"]["link"], "root@acme.test", connection="crm", environments=[]
    )
    browser.close()
    assert by_hook.query["client_id"] == [world.client_id]
    assert by_hook.query["scope"] == ["read"]
    assert by_hook.query["redirect_uri"] == [f"{base_url}/oauth/callback"]
    assert by_hook.query["code_challenge_method"] == ["S256"]
    # ... and the e-mail's link, followed by the developer it was sent to, too; approving it on
    # the provider brings crm back to connected with new tokens.
    set_password(world.runtime, "dev@acme.test")
    browser, by_mail = follow_to_consent(
        base_url, link, "dev@acme.test", connection="crm", environments=[]
    )
    assert by_mail.query["client_id"] == [world.client_id] and by_mail.query["scope"] == ["read"]
    assert by_mail.query["state"] != by_hook.query["state"]
    complete_consent(browser, by_mail, base_url)
    browser.close()
    credential, found = world.stored("crm")
    assert found.authorization.status is AuthorizationStatus.CONNECTED
    assert credential.refresh_token not in secrets


def test_a_user_level_invalid_grant_mails_only_that_user_whose_link_authorizes_their_own(
    served: tuple[OAuthWorld, str], smtp: SmtpServer
) -> None:
    world, base_url = served
    world.connection("sheet", service="tp2", level=ConnectionLevel.USER)
    world.authorize("sheet", owner="root@acme.test", expires_in=None)  # the primary, not due
    world.authorize("sheet", owner="user@acme.test", expires_in=120)
    world.provider.state.reject_refresh = True

    _wait_for(lambda: len(smtp.inbox.messages) >= 1)
    time.sleep(2.5)  # more ticks: nothing more is sent
    assert [rcpts for _, rcpts in smtp.inbox.envelopes] == [["user@acme.test"]]
    text = smtp.inbox.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"Authorize it again: (\S+)", text).group(1)  # type: ignore[union-attr]
    assert link.startswith(f"{base_url}/console/connections/sheet/authorize?")

    set_password(world.runtime, "user@acme.test")
    browser, consent = follow_to_consent(
        base_url, link, "user@acme.test", connection="sheet", environments=[]
    )
    assert "for your own account" in consent.authorize_page
    assert consent.query["client_id"] == [world.client_id] and consent.query["scope"] == ["read"]
    complete_consent(browser, consent, base_url)
    browser.close()
    _, mine = world.stored("sheet", "user@acme.test")
    assert mine.authorization.status is AuthorizationStatus.CONNECTED
    _, primary = world.stored("sheet", "root@acme.test")  # the super admin's is untouched
    assert primary.authorization.status is AuthorizationStatus.CONNECTED
    assert primary.account.id != mine.account.id
