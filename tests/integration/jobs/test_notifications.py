"""Who is told (SPEC §5 "Telling the right person"): per level, role and user; once per state
change; never a muted connection; read and muted over REST; nothing secret in a notice."""

from __future__ import annotations

import json

from pydantic import SecretStr
from starlette.testclient import TestClient

from plugboard.domain.models import ConnectionLevel
from plugboard.domain.principal import OPERATOR
from plugboard.server.app import create_app
from plugboard.usecases import identity
from plugboard.usecases.authorizations import revoke
from plugboard.usecases.notification_mail import send_due_emails
from plugboard.usecases.notifications import Notifications, dispatch_events
from plugboard.usecases.refresh import RefreshCoordinator
from plugboard.usecases.token_upkeep import refresh_due_tokens
from tests.integration.jobs.support import OAuthWorld, SmtpServer
from tests.stack import Actor


def _expire_all(oauth: OAuthWorld) -> None:
    oauth.provider.state.reject_refresh = True
    coordinator = RefreshCoordinator(oauth.runtime)
    try:
        refresh_due_tokens(oauth.runtime, coordinator)
    finally:
        coordinator.close()


def _told(oauth: OAuthWorld, members: Actor, names: list[str]) -> dict[str, list[str]]:
    return {
        n: [i.title for i in Notifications(oauth.runtime, members(n)).list().items] for n in names
    }


NAMES = ["root", "admin", "dev", "dev2", "user"]


def test_admin_level_tells_those_who_may_authorize_once(oauth: OAuthWorld, members: Actor) -> None:
    oauth.connection("crm")
    oauth.authorize("crm", expires_in=600)
    _expire_all(oauth)
    assert dispatch_events(oauth.runtime) == 3
    assert dispatch_events(oauth.runtime) == 0  # processed: a second run adds nothing
    told = _told(oauth, members, NAMES)
    # The expired authorization keeps its account: authorizing it again replaces that account
    # (a switch), which an admin of a developer workspace may not do -- so they are not told
    # of something they cannot fix (they were, and the link led them to a refusal).
    assert told["user"] == [] and told["admin"] == []
    for name in ("root", "dev", "dev2"):
        assert told[name] == ["The authorization of Test Provider Connection has expired"]
    with oauth.runtime.unit(write=False) as unit:  # nobody in the other workspace
        assert unit.notifications.of_user(members("root", "globex").user_id,
                                          unit.workspaces.get("globex").id) == []  # fmt: skip


def test_user_level_tells_that_user_and_the_super_admins_when_the_primary_is_lost(
    oauth: OAuthWorld, members: Actor
) -> None:
    oauth.connection("sheet", level=ConnectionLevel.USER)
    oauth.authorize("sheet", owner="root@acme.test", expires_in=None)  # the primary
    oauth.authorize("sheet", owner="user@acme.test", expires_in=600)
    _expire_all(oauth)  # only user's token is due
    dispatch_events(oauth.runtime)
    assert _told(oauth, members, NAMES) == {
        "root": [], "admin": [], "dev": [], "dev2": [],
        "user": ["The authorization of Test Provider Connection has expired"],
    }  # fmt: skip
    with oauth.runtime.unit() as unit:
        revoke(unit, OPERATOR, connection="sheet", owner="root@acme.test", workspace="acme")
    dispatch_events(oauth.runtime)
    root = Notifications(oauth.runtime, members("root")).list().items
    assert [n.kind for n in root] == ["authorization.revoked"]
    assert "primary account" in root[0].body


def test_revoking_ones_own_authorization_tells_nobody(oauth: OAuthWorld, members: Actor) -> None:
    oauth.connection("sheet", level=ConnectionLevel.USER)
    oauth.authorize("sheet", owner="root@acme.test", expires_in=None)
    oauth.authorize("sheet", owner="user@acme.test", expires_in=None)
    with oauth.runtime.unit() as unit:
        revoke(unit, members("user"), connection="sheet")
    assert dispatch_events(oauth.runtime) == 0


def test_a_muted_connection_tells_that_person_nothing(oauth: OAuthWorld, members: Actor) -> None:
    oauth.connection("crm")
    oauth.authorize("crm", expires_in=600)
    Notifications(oauth.runtime, members("dev")).mute("crm")
    _expire_all(oauth)
    assert dispatch_events(oauth.runtime) == 2  # root and dev2; dev muted it
    assert _told(oauth, members, ["dev"]) == {"dev": []}
    assert [m.connection for m in Notifications(oauth.runtime, members("dev")).muted()] == ["crm"]


def test_notifications_over_rest_read_and_mute_without_secrets(
    oauth: OAuthWorld, members: Actor
) -> None:
    oauth.connection("crm")
    refresh_token = oauth.authorize("crm", expires_in=600)
    _expire_all(oauth)
    dispatch_events(oauth.runtime)
    with oauth.runtime.unit() as unit:
        secret = identity.create_token(unit, members("dev"), name="n").secret
    with TestClient(create_app(oauth.runtime.settings, runtime=oauth.runtime)) as client:
        headers = {"Authorization": f"Bearer {secret}"}
        page = client.get("/api/v1/notifications", headers=headers).json()
        assert page["unread"] == 1 and len(page["items"]) == 1
        item = page["items"][0]
        assert item["connection"] == "crm" and item["environment"] == "all"
        assert item["link"].endswith(
            "/console/connections/crm/authorize?environment=all&workspace=acme"
        )
        assert refresh_token not in json.dumps(page)
        marked = client.post(f"/api/v1/notifications/{item['id']}/read", headers=headers)
        assert marked.json() == {"marked": 1}
        assert (
            client.get("/api/v1/notifications?unread=true", headers=headers).json()["items"] == []
        )
        muted = client.put("/api/v1/notifications/mutes/crm", headers=headers)
        assert muted.json() == {"connection": "crm", "muted": True}
        assert client.get("/api/v1/notifications/mutes", headers=headers).json() == [muted.json()]
        assert (
            client.delete("/api/v1/notifications/mutes/crm", headers=headers).json()["muted"]
            is False
        )
        assert client.put("/api/v1/notifications/mutes/nope", headers=headers).status_code == 404


def test_one_notification_per_event_and_person_even_if_processed_twice(
    oauth: OAuthWorld, members: Actor
) -> None:
    oauth.connection("crm")
    oauth.authorize("crm", expires_in=600)
    _expire_all(oauth)
    (event,) = oauth.events("authorization.expired")
    fields = dict(
        workspace_id=event.workspace_id, user_id=members("dev").user_id, event_id=event.id,
        kind=event.type, connection_id=event.connection_id, environment="all",
        owner_user_id=None, title="t", body="b", link="l", email=False,
    )  # fmt: skip
    with oauth.runtime.unit() as unit:
        first = unit.notifications.add(**fields, now=unit.now())  # type: ignore[arg-type]
        again = unit.notifications.add(**fields, now=unit.now())  # type: ignore[arg-type]
    assert (first, again) == (True, False)
    assert dispatch_events(oauth.runtime) == 2  # dev has one already: root and dev2 get theirs


def test_muting_a_connection_drops_its_email_not_sent_yet(
    oauth: OAuthWorld, members: Actor, smtp: SmtpServer
) -> None:
    oauth.runtime.settings = oauth.runtime.settings.model_copy(
        update={"smtp_url": SecretStr(smtp.url)}
    )
    oauth.connection("crm")
    oauth.authorize("crm", expires_in=600)
    _expire_all(oauth)
    assert dispatch_events(oauth.runtime) == 3  # root, dev and dev2: e-mail waiting for each
    Notifications(oauth.runtime, members("dev")).mute("crm")

    assert send_due_emails(oauth.runtime) == 2
    recipients = {rcpt for _, rcpts in smtp.inbox.envelopes for rcpt in rcpts}
    assert recipients == {"root@acme.test", "dev2@acme.test"}
    [notice] = Notifications(oauth.runtime, members("dev")).list().items
    assert notice.email_status == "none"  # still in the console's list, never mailed
