"""`plugboard --server URL --token T …` as a person runs it: a real process against a served
Plugboard. Its PLUGBOARD_HOME is empty (no key, no store): anything local would fail.

The checks of what a command does on the server (invoke, its exit status 3, entering a
credential) run the same entry point in-process (tests/cli_inprocess.py) with that environment;
the consent, the environment variables and the refusals are real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from plugboard.testing.provider_state import DEMO_API_KEY
from tests.cli_inprocess import plugboard_in_process
from tests.integration.remote_support import key_connection, token
from tests.stack import Stack


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(PLUGBOARD_HOME=str(home / "nothing-here"), **extra)
    return env


def _cli(
    stack: Stack, home: Path, *args: str, member: str = "dev", stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """In this process, with the environment a process would get."""
    remote = ["--server", stack.base_url, "--token", token(stack, member)]
    return plugboard_in_process([*remote, *args], _env(home), stdin)


def test_invoke_with_server_runs_on_the_server(stack: Stack, tmp_path: Path) -> None:
    link = key_connection(stack)
    done = _cli(stack, tmp_path, "invoke", link, "POST", "/orders", "--json-body", '{"n": 1}')
    assert done.returncode == 0, done.stderr
    echoed = json.loads(done.stdout)
    assert (echoed["auth"], echoed["json"]) == ("apikey", {"n": 1})
    assert DEMO_API_KEY not in done.stdout + done.stderr


def test_invoke_with_server_exits_3_when_an_authorization_is_required(
    stack: Stack, tmp_path: Path
) -> None:
    link = key_connection(stack, authorized=False, level="user")
    done = _cli(stack, tmp_path, "invoke", link, "GET", "/orders", member="user")
    assert done.returncode == 3
    assert "authorize this connection for yourself" in done.stderr


def test_authorize_with_a_credential_through_the_server(stack: Stack, tmp_path: Path) -> None:
    link = key_connection(stack, authorized=False)
    done = _cli(
        stack, tmp_path, "authorize", link, "--credential", "X-Api-Key=-", stdin=DEMO_API_KEY
    )
    assert done.returncode == 0, done.stderr
    shown = stack.api("dev").get(f"/connections/{link}").json()
    assert [a["status"] for a in shown["authorizations"]] == ["connected"]


def test_authorize_oauth_through_the_server_prints_the_url_first_and_waits(
    stack: Stack, tmp_path: Path
) -> None:
    api = stack.api("dev")
    service = api.post("/services", json=yaml.safe_load(stack.oauth2_service())).json()
    body = {"service": service["link_name"], "link_name": "tp_conn", "scopes": ["read"]}
    assert api.post("/connections", json=body).status_code == 201
    remote = ["--server", stack.base_url, "--token", token(stack, "dev")]
    with subprocess.Popen(
        [sys.executable, "-m", "plugboard.cli", *remote, "authorize", "tp_conn", "--no-browser"],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith(stack.provider.base_url), process.communicate(timeout=30)
        consented = stack.browser().get(url)
        out, errors = process.communicate(timeout=30)
    assert consented.status_code == 200, consented.text
    assert process.returncode == 0, errors
    assert "Authorized tp_conn" in out


def test_connections_and_services_list_through_the_server_from_the_environment(
    stack: Stack, tmp_path: Path
) -> None:
    key_connection(stack)
    env = _env(tmp_path, PLUGBOARD_SERVER=stack.base_url, PLUGBOARD_TOKEN=token(stack, "dev"))
    run = [sys.executable, "-m", "plugboard.cli"]
    listed = subprocess.run([*run, "connections", "list", "--json"], env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    shown = subprocess.run([*run, "services", "show", "keysvc", "--json"], env=env,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert [c["link_name"] for c in json.loads(listed.stdout)] == ["keys"]
    assert json.loads(shown.stdout)["definition"]["auth_type"] == "api_key"


def _offline(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Refusals happen before any request: no server needs to run."""
    remote = ["--server", "http://127.0.0.1:9", "--token", "pbt_unused"]
    return subprocess.run(
        [sys.executable, "-m", "plugboard.cli", *remote, *args],
        env=_env(home), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_administrative_commands_say_they_run_on_the_server_machine(tmp_path: Path) -> None:
    for command in (["db", "status"], ["tokens", "list"], ["init"]):
        done = _offline(tmp_path, *command)
        assert done.returncode == 2
        assert "runs on the server machine; --server is not supported here" in done.stderr


def test_as_is_refused_with_server(tmp_path: Path) -> None:
    done = _offline(tmp_path, "invoke", "keys", "GET", "/x", "--as", "user@acme.test")
    assert done.returncode == 1
    assert "--as" in done.stderr and "token decides" in done.stderr
