"""The commands that used to run only on the local store work with --server too: connections
edit and references, authorizations rename, primary and switch, services create, edit, delete
and set-client. Each runs with a PLUGBOARD_HOME that is empty (no key, no store), so nothing can
happen locally -- in this process (tests/cli_inprocess.py: the entry point with that
environment); test_cli_remote.py runs `--server` commands as real processes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from plugboard.testing.provider_state import DEMO_API_KEY
from tests.cli_inprocess import plugboard_in_process
from tests.integration.remote_support import key_connection, key_service, token
from tests.stack import Stack


def _cli(stack: Stack, home: Path, *args: str, member: str = "dev", stdin: str = "") -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env["PLUGBOARD_HOME"] = str(home / "nothing-here")
    remote = ["--server", stack.base_url, "--token", token(stack, member)]
    done = plugboard_in_process([*remote, *args, "--json"], env, stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_connections_edit_and_references_run_on_the_server(stack: Stack, tmp_path: Path) -> None:
    link = key_connection(stack)
    edited = _cli(stack, tmp_path, "connections", "edit", link, "--name", "Keys, renamed")
    references = _cli(stack, tmp_path, "connections", "references", link)
    assert (edited["name"], edited["needs_reauth"]) == ("Keys, renamed", 0)
    assert stack.api("dev").get(f"/connections/{link}").json()["name"] == "Keys, renamed"
    assert references == []


def test_authorizations_rename_runs_on_the_server(stack: Stack, tmp_path: Path) -> None:
    link = key_connection(stack)
    renamed = _cli(stack, tmp_path, "authorizations", "rename", link, "Ops key")
    assert renamed["account_name"] == "Ops key"
    [shown] = stack.api("dev").get(f"/connections/{link}").json()["authorizations"]
    assert shown["account_name"] == "Ops key"


def test_authorizations_primary_runs_on_the_server(stack: Stack, tmp_path: Path) -> None:
    link = key_connection(stack, level="user", authorized=False)
    for member in ("root", "user"):
        entered = stack.api(member).post(
            f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}}
        )
        assert entered.status_code == 201, entered.text
    moved = _cli(
        stack, tmp_path, "authorizations", "primary", link, "--owner", "user@acme.test",
        member="root",
    )  # fmt: skip
    assert moved["is_primary"] is True
    listed = stack.api("root").get(f"/connections/{link}/authorizations").json()["items"]
    assert {a["owner_email"]: a["is_primary"] for a in listed} == {
        "root@acme.test": False,
        "user@acme.test": True,
    }


def test_services_create_edit_and_delete_run_on_the_server(stack: Stack, tmp_path: Path) -> None:
    service_file = tmp_path / "keysvc.yaml"
    service_file.write_text(key_service(stack))
    created = _cli(stack, tmp_path, "services", "create", "--file", str(service_file))
    service_file.write_text(key_service(stack).replace("name: Key Service", "name: Keys v2"))
    edited = _cli(stack, tmp_path, "services", "edit", "keysvc", "--file", str(service_file))
    shown = stack.api("dev").get("/services/keysvc").json()
    deleted = _cli(stack, tmp_path, "services", "delete", "keysvc")
    assert created["link_name"] == "keysvc"
    assert (edited["definition"]["name"], edited["disconnected"]) == ("Keys v2", 0)
    assert shown["name"] == "Keys v2"
    assert deleted == {"deleted": "keysvc", "disconnected": 0}
    assert stack.api("dev").get("/services/keysvc").status_code == 404


def test_authorizations_switch_to_a_linked_account_runs_on_the_server(
    stack: Stack, tmp_path: Path
) -> None:
    import yaml

    api = stack.api("dev")
    assert api.post("/services", json=yaml.safe_load(key_service(stack))).status_code == 201
    body = {"service": "keysvc", "link_name": "keys", "per_environment": True}
    assert api.post("/connections", json=body).status_code == 201
    entered = api.post(
        "/connections/keys/credentials",
        json={
            "values": {"X-Api-Key": DEMO_API_KEY},
            "environments": ["development"],
            "account_name": "Key A",
        },
    )
    assert entered.status_code == 201, entered.text
    switched = _cli(
        stack, tmp_path, "authorizations", "switch", "keys", "--reuse", "Key A", "--env", "stage"
    )
    assert (switched["environment"], switched["account_name"]) == ("stage", "Key A")
    items = api.get("/connections/keys/authorizations").json()["items"]
    assert {(a["environment"], a["account_name"]) for a in items} == {
        ("development", "Key A"),
        ("stage", "Key A"),
    }


def test_services_set_client_runs_on_the_server_and_never_prints_the_secret(
    stack: Stack, tmp_path: Path
) -> None:
    secret = "gh-client-secret-4b1d"
    done = _cli(
        stack, tmp_path, "services", "set-client", "github", "--client-id", "Iv1.abc",
        "--client-secret-stdin", member="dev", stdin=secret + "\n",
    )  # fmt: skip
    assert (done["service"], done["client_id"], done["has_client_secret"]) == (
        "github",
        "Iv1.abc",
        True,
    )
    assert secret not in json.dumps(done)
