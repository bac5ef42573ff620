"""`connections list` shows each connection's authorization status for the caller: over REST,
in both clients and in the CLI (table and --json)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import plugboard
from plugboard.client.local import LocalClient
from plugboard.testing.provider_state import DEMO_API_KEY
from tests.integration.remote_support import key_connection, token
from tests.stack import Stack


def _statuses(stack: Stack, member: str = "dev") -> dict[str, str]:
    listed = stack.api(member).get("/connections")
    assert listed.status_code == 200, listed.text
    return {c["link_name"]: c["status"] for c in listed.json()["items"]}


def test_a_new_connection_is_listed_not_connected(stack: Stack) -> None:
    key_connection(stack, authorized=False)
    assert _statuses(stack) == {"keys": "not_connected"}


def test_an_authorized_connection_is_listed_connected(stack: Stack) -> None:
    key_connection(stack)
    assert _statuses(stack) == {"keys": "connected"}


def test_a_revoked_authorization_is_listed_revoked(stack: Stack) -> None:
    link = key_connection(stack)
    revoked = stack.api("dev").post(f"/connections/{link}/authorizations/revoke", json={})
    assert revoked.status_code == 200, revoked.text
    assert _statuses(stack) == {"keys": "revoked"}


def _enter_key(stack: Stack, member: str, link: str) -> None:
    entered = stack.api(member).post(
        f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}}
    )
    assert entered.status_code == 201, entered.text


def test_a_user_level_connection_shows_the_callers_own_authorization(stack: Stack) -> None:
    link = key_connection(stack, level="user", authorized=False)
    _enter_key(stack, "root", link)  # the super admin's own authorization, the primary account
    assert _statuses(stack, "root") == {link: "connected"}
    assert _statuses(stack, "dev") == {link: "not_connected"}
    assert _statuses(stack, "user") == {link: "not_connected"}
    _enter_key(stack, "user", link)
    assert _statuses(stack, "user") == {link: "connected"}


def test_show_and_create_carry_the_status_too(stack: Stack) -> None:
    link = key_connection(stack, authorized=False)
    api = stack.api("dev")
    assert api.get(f"/connections/{link}").json()["status"] == "not_connected"
    created = api.post("/connections", json={"service": "keysvc", "link_name": "second"})
    assert created.json()["status"] == "not_connected"


@pytest.mark.parametrize("kind", ["local", "remote"])
def test_both_clients_list_the_status(stack: Stack, kind: str) -> None:
    key_connection(stack)
    key_connection(stack, authorized=False, link="later", new_service=False)
    client = (
        LocalClient(stack.runtime, principal=stack.members("dev"))
        if kind == "local"
        else plugboard.connect(stack.base_url, token=token(stack, "dev"))
    )
    with client:
        listed = {c.link_name: c.status for c in client.connections.list()}
        shown = client.connections.get("keys").status
    assert listed == {"keys": "connected", "later": "not_connected"}
    assert shown == "connected"


def test_the_cli_lists_the_status_in_its_table_and_json(stack: Stack, tmp_path: Path) -> None:
    key_connection(stack)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env |= {
        "PLUGBOARD_HOME": str(tmp_path / "nothing-here"),
        "PLUGBOARD_SERVER": stack.base_url,
        "PLUGBOARD_TOKEN": token(stack, "dev"),
        "COLUMNS": "200",
    }
    run = [sys.executable, "-m", "plugboard.cli", "connections", "list"]
    as_json = subprocess.run([*run, "--json"], env=env, capture_output=True, text=True, timeout=60)
    table = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert as_json.returncode == 0, as_json.stderr
    assert [(c["link_name"], c["status"]) for c in json.loads(as_json.stdout)] == [
        ("keys", "connected")
    ]
    assert table.returncode == 0, table.stderr
    header = next(line for line in table.stdout.splitlines() if "link name" in line)
    row = next(line for line in table.stdout.splitlines() if line.strip("│ ").startswith("keys"))
    assert "status" in header and "connected" in row
