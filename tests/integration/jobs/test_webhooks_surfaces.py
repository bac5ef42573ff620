"""Webhooks over REST, the remote SDK (pb.webhooks) and the CLI (embedded, --json), on both
databases: who may manage them, the secret answered once and nowhere else, and a delivery's
replay from each surface verified by a receiver on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from plugboard.cli.main import app as cli
from plugboard.client.remote import RemoteClient
from plugboard.crypto.keyring import Keyring, write_key_file
from plugboard.domain.clock import ManualClock
from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.errors import PermissionDenied
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.usecases import identity
from plugboard.usecases.connections import create_connection
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service
from tests.integration.jobs.webhook_support import receiving, tick, verified_by_both
from tests.stack import Stack, key_service


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


def _connection(runtime: Runtime, link: str) -> None:
    with runtime.unit() as unit:
        create_connection(
            unit, OPERATOR, service="ksvc", link_name=link, scopes=[], workspace="acme"
        )


def _service(runtime: Runtime, provider_url: str) -> None:
    with runtime.unit() as unit:
        create_custom_service(
            unit, OPERATOR, key_service(provider_url), workspace="acme", http_hosts=["127.0.0.1"]
        )


def _token(stack: Stack, name: str, workspace: str = "acme") -> str:
    with stack.runtime.unit() as unit:
        return identity.create_token(unit, stack.members(name, workspace), name="t").secret


def test_rest_and_the_remote_sdk_manage_webhooks_for_admins_only(stack: Stack) -> None:
    _service(stack.runtime, stack.provider.base_url)
    admin = stack.api("admin")
    for name in ("dev", "user"):
        refused = stack.api(name).post("/webhooks", json={"url": "https://hooks.example.com/x"})
        assert refused.status_code == 403, refused.text
    assert stack.api("dev").get("/webhooks").status_code == 403
    bad = admin.post("/webhooks", json={"url": "http://hooks.example.com/x"})
    assert bad.status_code == 422 and "https" in bad.text
    unknown = admin.post("/webhooks", json={"url": "https://h.example.com", "events": ["nope"]})
    assert unknown.status_code == 422

    with receiving() as receiver:
        made = admin.post("/webhooks", json={"url": receiver.url, "events": ["connection.created"]})
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        webhook_id = made.json()["webhook"]["id"]
        listed = admin.get("/webhooks")
        assert [w["id"] for w in listed.json()] == [webhook_id] and secret not in listed.text
        assert secret not in admin.get(f"/webhooks/{webhook_id}").text
        # Another workspace's admin does not see it.
        assert stack.api("admin", "globex").get(f"/webhooks/{webhook_id}").status_code == 404

        _connection(stack.runtime, "c1")
        assert tick(stack.runtime)["delivered"] == 1
        with RemoteClient(stack.base_url, _token(stack, "root")) as pb:
            [delivery] = pb.webhooks.deliveries(webhook_id)
            replayed = pb.webhooks.replay(delivery.id)
            assert [a.cause for a in replayed.attempt_log] == ["scheduled", "replay"]
            assert replayed.payload["data"]["connection"] == "c1"
            rotated = pb.webhooks.rotate(webhook_id, overlap_seconds=60)
            assert rotated.secret != secret and rotated.secret not in repr(rotated)
            assert [w.id for w in pb.webhooks.list()] == [webhook_id]
            with RemoteClient(stack.base_url, _token(stack, "dev")) as dev:
                with pytest.raises(PermissionDenied):
                    dev.webhooks.list()
            pb.webhooks.delete(webhook_id)
            assert pb.webhooks.list() == []
    first, again = receiver.received
    assert verified_by_both(secret, first) == verified_by_both(secret, again)


@pytest.fixture
def cli_runtime(
    settings: Settings, database: Database, keyring: Keyring, clock: ManualClock
) -> Runtime:
    write_key_file(settings.key_file, keyring.keys)
    return Runtime.open(settings, clock=clock, database=database)


def test_the_cli_creates_lists_shows_replays_rotates_and_deletes(
    cli_runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, provider: Any
) -> None:
    runtime = cli_runtime
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "acme", WorkspaceKind.DEVELOPER)
        identity.add_user(
            unit, OPERATOR, email="admin@acme.test", role=Role.ADMIN, workspace="acme"
        )
    _service(runtime, provider.base_url)
    for name, value in {
        "PLUGBOARD_HOME": str(runtime.settings.home),
        "PLUGBOARD_DATABASE_URL": runtime.database.url,
        "PLUGBOARD_ALLOW_HTTP_HOSTS": "127.0.0.1",
        "PLUGBOARD_OUTBOUND_ALLOWLIST": "127.0.0.1",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    runtime.settings = runtime.settings.model_copy(
        update={"allow_http_hosts": "127.0.0.1", "outbound_allowlist": "127.0.0.1"}
    )

    def run(*args: str) -> Any:
        result = CliRunner().invoke(cli, [*args, "--as", "admin@acme.test", "-w", "acme"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout) if "--json" in args else result.stdout

    with receiving() as receiver:
        created = run("webhooks", "create", receiver.url, "--event", "connection.created", "--json")
        secret, webhook_id = created["secret"], created["webhook"]["id"]
        assert secret.startswith("whsec_") and created["webhook"]["events"] == [
            "connection.created"
        ]
        # JSON: a table's width follows whatever COLUMNS the process's console first saw.
        listed = run("webhooks", "list", "--json")
        assert [w["id"] for w in listed] == [webhook_id] and secret not in json.dumps(listed)
        # The CLI runs on the real clock, this runtime on its own: the event must come after
        # the endpoint, however long the set-up took (a busy machine takes seconds).
        assert isinstance(runtime.clock, ManualClock)
        behind = (datetime.now(UTC) - runtime.clock.now()).total_seconds()
        runtime.clock.advance(max(behind, 0) + 2)
        _connection(runtime, "c1")
        tick(runtime)
        [delivery] = run("webhooks", "deliveries", webhook_id, "--json")
        assert delivery["status"] == "delivered"
        shown = run("webhooks", "show", delivery["id"], "--json")
        assert shown["payload"]["type"] == "connection.created"
        replayed = run("webhooks", "replay", delivery["id"], "--json")
        assert [a["cause"] for a in replayed["attempt_log"]] == ["scheduled", "replay"]
        rotated = run("webhooks", "rotate", webhook_id, "--overlap-seconds", "30")
        assert "signing secret" in rotated and "whsec_" in rotated and secret not in rotated
        assert run("webhooks", "delete", webhook_id, "--json") == {"deleted": webhook_id}
    assert len(receiver.received) == 2
    for message in receiver.received:
        verified_by_both(secret, message)
    refused = CliRunner().invoke(cli, ["webhooks", "list", "--as", "nobody@acme.test"])
    assert refused.exit_code != 0
