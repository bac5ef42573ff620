"""The done-when path of SPEC §5 "Telling the right person" in a scale-out deployment: on
PostgreSQL, two `plugboard worker` processes share the jobs while a server (without jobs) serves
the console. An invalid_grant on an unused authorization becomes exactly one e-mail per person
who can fix it (received by aiosmtpd on 127.0.0.1) and exactly one signed webhook (verified by a
receiver on 127.0.0.1); each link, followed over HTTP through the login, opens the authorize
page of that connection and environment and starts the right consent, which completes."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from plugboard.domain.models import AuthorizationStatus
from plugboard.server.app import create_app
from plugboard.testing.server import ProviderServer
from plugboard.threaded_server import ThreadedServer
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.webhooks import Webhooks
from tests.integration.jobs.notice_links import complete_consent, follow_to_consent, set_password
from tests.integration.jobs.support import SmtpServer
from tests.integration.jobs.test_workers import EXPECTED, Workers, _seed, _wait_for
from tests.integration.jobs.test_workers import backend as backend  # noqa: F401 - the fixture
from tests.integration.jobs.webhook_support import receiving, verified_by_both


@pytest.fixture
def console(backend: tuple[Runtime, Workers]) -> Iterator[tuple[Runtime, Workers, str]]:
    """The server people open links on (jobs off: the workers run them), and the workers told
    its base URL."""
    runtime, workers = backend
    if runtime.database.backend != "postgresql":
        pytest.skip("worker processes share jobs on PostgreSQL (SQLite: test_notify_in_process)")
    server = ThreadedServer(None, name="plugboard", lifespan="on")
    base_url = server.bind()
    settings = runtime.settings.model_copy(update={"base_url": base_url})
    served = replace(runtime, settings=settings)
    server.app = create_app(settings, runtime=served, run_jobs=False)
    server.start()
    workers.env["PLUGBOARD_BASE_URL"] = base_url
    try:
        yield served, workers, base_url
    finally:
        server.stop()


@pytest.mark.slow
def test_two_workers_mail_and_hook_once_with_links_that_start_the_consent(
    console: tuple[Runtime, Workers, str],
    provider: ProviderServer,
    smtp: SmtpServer,
) -> None:
    runtime, workers, base_url = console
    workers.env["PLUGBOARD_SMTP_URL"] = smtp.url
    world = _seed(runtime, provider)  # the service's redirect URI is this server's callback
    world.connection("crm")
    with runtime.unit(write=False) as unit:
        admin = identity.principal_for(unit, "admin@acme.test", "acme", via="test")
    hooks = Webhooks(runtime, admin)
    with receiving() as receiver:
        created = hooks.create(url=receiver.url, events=["authorization.expired"])
        world.authorize("crm", expires_in=120)  # unused, inside the refresh horizon
        provider.state.reject_refresh = True
        workers.start()
        workers.start()
        _wait_for(
            lambda: len(smtp.inbox.envelopes) >= len(EXPECTED) and bool(receiver.received),
            workers=workers,
        )
        time.sleep(2.5)  # more ticks on both workers: nothing more is sent
        assert len(receiver.received) == 1
    recipients = sorted(r for _, rcpts in smtp.inbox.envelopes for r in rcpts)
    assert recipients == sorted(EXPECTED)
    hook = verified_by_both(created.secret, receiver.received[0])
    assert hook["type"] == "authorization.expired"
    message = smtp.inbox.to("dev2@acme.test")[0]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"Authorize it again: (\S+)", text).group(1)  # type: ignore[union-attr]
    assert html.escape(link) in page and hook["data"]["link"] == link
    secrets = [*provider.state.refresh_tokens, *provider.state.access_tokens,
               created.secret.removeprefix("whsec_")]  # fmt: skip
    for raw in [m.as_string() for m in smtp.inbox.messages] + [receiver.received[0].text]:
        assert not any(s in raw for s in secrets) and "client_secret" not in raw

    set_password(runtime, "root@acme.test")
    browser, by_hook = follow_to_consent(
        base_url, hook["data"]["link"], "root@acme.test", connection="crm", environments=[]
    )
    browser.close()
    set_password(runtime, "dev2@acme.test")
    browser, by_mail = follow_to_consent(
        base_url, link, "dev2@acme.test", connection="crm", environments=[]
    )
    for consent in (by_hook, by_mail):
        assert consent.query["client_id"] == [world.client_id]
        assert consent.query["scope"] == ["read"]
        assert consent.query["redirect_uri"] == [f"{base_url}/oauth/callback"]
        assert consent.query["code_challenge_method"] == ["S256"]
    complete_consent(browser, by_mail, base_url)
    browser.close()
    credential, found = world.stored("crm")
    assert found.authorization.status is AuthorizationStatus.CONNECTED
    assert credential.refresh_token not in secrets
