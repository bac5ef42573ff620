"""pb.notifications and `plugboard notifications …` on both databases: the embedded client, the
remote client over REST and the CLI (embedded and with --server) page through the same notices,
mark them read and mute a connection, with the same answers; nothing in them is a secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from plugboard.cli.main import app as cli
from plugboard.client.local import LocalClient
from plugboard.client.remote import RemoteClient
from plugboard.crypto.keyring import Keyring, write_key_file
from plugboard.errors import NotFound, PermissionDenied
from plugboard.usecases import identity
from plugboard.usecases.notifications import dispatch_events
from plugboard.usecases.refresh import RefreshCoordinator
from plugboard.usecases.token_upkeep import refresh_due_tokens
from tests.integration.jobs.support import OAuthWorld
from tests.stack import Stack


def _two_notices(oauth: OAuthWorld) -> list[str]:
    """crm and erp expire (invalid_grant): dev is told about each; returns the refresh tokens."""
    tokens = []
    for link in ("crm", "erp"):
        oauth.connection(link)
        tokens.append(oauth.authorize(link, expires_in=600))
    oauth.provider.state.reject_refresh = True
    coordinator = RefreshCoordinator(oauth.runtime)
    try:
        refresh_due_tokens(oauth.runtime, coordinator)
    finally:
        coordinator.close()
    assert dispatch_events(oauth.runtime) == 6  # root, dev and dev2, twice
    return tokens


def _walk(api: Any) -> dict[str, Any]:
    """The same steps through any client's notifications API; what each answered."""
    seen: dict[str, Any] = {}
    first = api.list(limit=1)
    second = api.list(limit=1, cursor=first.next_cursor)
    assert first.next_cursor and len(first.items) == len(second.items) == 1
    assert first.items[0].id != second.items[0].id
    seen["pages"] = [p.model_dump(mode="json") for p in (first, second)]
    # Two notices: a page of exactly two is the last (no empty page after it).
    assert api.list(limit=2).next_cursor is None and api.list(limit=3).next_cursor is None
    assert api.mark_read([first.items[0].id, "not-an-id"]) == 1
    unread = api.list(unread_only=True)
    assert [n.id for n in unread.items] == [second.items[0].id] and unread.unread == 1
    assert api.mute("crm").muted is True and [m.connection for m in api.muted()] == ["crm"]
    assert api.unmute("crm").muted is False and api.muted() == []
    with pytest.raises(NotFound):
        api.mute("nope")
    assert api.mark_read() == 1
    assert api.list().unread == 0
    return seen


def test_the_embedded_and_the_remote_client_answer_alike(oauth: OAuthWorld, stack: Stack) -> None:
    tokens = _two_notices(oauth)
    with oauth.runtime.unit() as unit:
        secret = identity.create_token(unit, stack.members("dev"), name="n").secret
        secret2 = identity.create_token(unit, stack.members("dev2"), name="n").secret
    embedded = LocalClient(oauth.runtime, principal=stack.members("dev"), workspace="acme")
    local_seen = _walk(embedded.notifications)
    with RemoteClient(stack.base_url, secret2) as pb:
        remote_seen = _walk(pb.notifications)
        assert secret not in json.dumps(remote_seen)
    for local_page, remote_page in zip(local_seen["pages"], remote_seen["pages"], strict=True):
        for mine, theirs in zip(local_page["items"], remote_page["items"], strict=True):
            assert {k: v for k, v in mine.items() if k not in ("id", "created_at")} == {
                k: v for k, v in theirs.items() if k not in ("id", "created_at")
            }
    shown = json.dumps([local_seen, remote_seen])
    assert not any(t in shown for t in tokens) and "client_secret" not in shown
    # A client acting as no member (the operator) has no notifications.
    with pytest.raises(PermissionDenied):
        LocalClient(oauth.runtime).notifications.list()


def test_the_cli_embedded_and_with_server(
    oauth: OAuthWorld,
    stack: Stack,
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _two_notices(oauth)
    runtime = oauth.runtime
    write_key_file(runtime.settings.key_file, keyring.keys)
    for name, value in {
        "PLUGBOARD_HOME": str(runtime.settings.home),
        "PLUGBOARD_DATABASE_URL": runtime.database.url,
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    with runtime.unit() as unit:
        token = identity.create_token(unit, stack.members("dev2"), name="n").secret

    def run(where: tuple[list[str], list[str]], *args: str) -> Any:
        before, after = where
        result = CliRunner().invoke(cli, [*before, "notifications", *args, *after, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    embedded: tuple[list[str], list[str]] = ([], ["--as", "dev@acme.test", "--workspace", "acme"])
    remote: tuple[list[str], list[str]] = (["--server", stack.base_url, "--token", token], [])
    for where in (embedded, remote):
        page = run(where, "list", "--limit", "1")
        assert page["unread"] == 2 and len(page["items"]) == 1
        following = run(where, "list", "--limit", "1", "--cursor", page["next_cursor"])
        assert following["items"][0]["id"] != page["items"][0]["id"]
        assert run(where, "read", page["items"][0]["id"]) == {"marked": 1}
        assert [n["id"] for n in run(where, "list", "--unread")["items"]] == [
            following["items"][0]["id"]
        ]
        assert run(where, "mute", "crm") == {"connection": "crm", "muted": True}
        assert run(where, "muted") == [{"connection": "crm", "muted": True}]
        assert run(where, "unmute", "crm") == {"connection": "crm", "muted": False}
        assert run(where, "read") == {"marked": 1}
    table = CliRunner().invoke(cli, ["notifications", "list", *embedded[1]])
    assert table.exit_code == 0 and "Notifications (0 unread)" in table.stdout
    missing = CliRunner().invoke(cli, [*remote[0], "notifications", "mute", "nope"])
    assert missing.exit_code != 0 and isinstance(missing.exception, NotFound)
