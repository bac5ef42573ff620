"""The `plugboard` command as a person runs it: a real process, real home folder, real output.

Each test runs the command it is about as a real process; the commands that only set the scene
(`init` before a `users` command, …) or check what a command stored run in this process
(tests/cli_inprocess.py: the same entry point, environment and store, without the second or so
of start-up a process costs)."""

from __future__ import annotations

import gc
import os
import re
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from plugboard.store.database import Database
from plugboard.testing.server import ProviderServer
from tests.cli_inprocess import plugboard_in_process

PLUGBOARD = [sys.executable, "-m", "plugboard.cli"]


def _env(home: Path, database: Database | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env["PLUGBOARD_HOME"] = str(home)
    env["COLUMNS"] = "200"
    if database is not None:
        env["PLUGBOARD_DATABASE_URL"] = database.url
    return env


def plugboard(
    home: Path, *args: str, database: Database | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PLUGBOARD, *args],
        env=_env(home, database),
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def here(
    home: Path, *args: str, database: Database | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`plugboard(...)` in this process: for commands that set the scene or check the store."""
    return plugboard_in_process(args, _env(home, database), stdin)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_every_command_but_init_refuses_to_start_without_a_master_key(home: Path) -> None:
    for args in (["serve"], ["users", "list"], ["db", "upgrade"], ["keys", "status"]):
        result = plugboard(home, *args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("error: no master key"), args
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_init_prints_a_login_that_authenticates(home: Path, database: Database) -> None:
    result = plugboard(home, "init", database=database)
    assert result.returncode == 0, result.stderr
    token = re.search(r"API token: (pbt_\S+)", result.stdout)
    assert token and re.search(r"password:  \S{20,}", result.stdout)
    assert "Log in to the console at http://127.0.0.1:8000/console" in result.stdout
    listed = plugboard(
        home, "tokens", "list", "--email", "admin@plugboard.local", database=database
    )
    assert "init" in listed.stdout
    assert token.group(1) not in listed.stdout


def test_init_creates_a_key_file_readable_only_by_its_owner(home: Path, database: Database) -> None:
    assert here(home, "init", database=database).returncode == 0
    assert (home / "master.keys").stat().st_mode & 0o777 == 0o600


def test_init_twice_is_refused_but_if_new_succeeds_quietly(home: Path, database: Database) -> None:
    assert here(home, "init", database=database).returncode == 0
    again = here(home, "init", database=database)
    assert again.returncode == 1 and "already initialized" in again.stderr
    quiet = here(home, "init", "--if-new", database=database)
    assert quiet.returncode == 0 and "pbt_" not in quiet.stdout


def test_init_on_an_initialized_store_leaves_no_connection_open(
    home: Path, database: Database
) -> None:
    """Refused or done nothing (--if-new), init closes its database connections: embedded (and
    in-process here) a connection left to the garbage collector stays open until then."""
    assert here(home, "init", database=database).returncode == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert here(home, "init", database=database).returncode == 1
        assert here(home, "init", "--if-new", database=database).returncode == 0
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


def test_validation_errors_print_one_line_naming_field_and_rule(
    home: Path, database: Database
) -> None:
    here(home, "init", database=database)
    result = plugboard(home, "users", "add", "not-an-email", database=database)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: email: must be an e-mail address like name@example.com [validation_error]"
    )


def test_members_acting_with_as_are_bound_by_their_role(home: Path, database: Database) -> None:
    here(home, "init", database=database)
    here(home, "users", "add", "u@example.com", "--role", "user", database=database)
    result = here(home, "users", "add", "x@example.com", "--as", "u@example.com", database=database)
    assert result.returncode == 1
    assert "role 'user' may not manage users" in result.stderr


def test_json_output_is_machine_readable(home: Path, database: Database) -> None:
    import json

    here(home, "init", database=database)
    result = plugboard(home, "users", "list", "--json", database=database)
    members = json.loads(result.stdout)
    assert members[0]["email"] == "admin@plugboard.local"
    assert members[0]["role"] == "super_admin"


def test_keys_rotate_shows_progress_and_reports_the_new_key(home: Path, database: Database) -> None:
    here(home, "init", database=database)
    result = plugboard(home, "keys", "rotate", database=database)
    assert result.returncode == 0, result.stderr
    assert "New key k2 encrypts from now on" in result.stdout
    status = here(home, "keys", "status", "--json", database=database)
    assert '"current": "k2"' in status.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(home: Path, database: Database) -> Iterator[str]:
    here(home, "init", database=database)
    port = _free_port()
    process = subprocess.Popen(
        [*PLUGBOARD, "serve", "--port", str(port)],
        env=_env(home, database),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx2.get(f"{base}/health", timeout=1)
                break
            except httpx2.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def test_serve_answers_health_over_http(server: str) -> None:
    response = httpx2.get(f"{server}/health", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_services_list_search_finds_salesforce_on_a_fresh_home(
    home: Path, database: Database
) -> None:
    here(home, "init", database=database)
    result = plugboard(home, "services", "list", "--search", "sales", database=database)
    assert result.returncode == 0, result.stderr
    assert "salesforce" in result.stdout and "Services (1)" in result.stdout


def test_connections_create_for_salesforce_on_a_fresh_home(home: Path, database: Database) -> None:
    here(home, "init", database=database)
    result = plugboard(
        home,
        "connections",
        "create",
        "--service",
        "salesforce",
        "--param",
        "domain=zylker",
        database=database,
    )
    assert result.returncode == 0, result.stderr
    assert "link name salesforce_connection" in result.stdout
    shown = here(home, "connections", "show", "salesforce_connection", database=database)
    assert "domain=zylker" in shown.stdout


def test_a_missing_dynamic_parameter_says_which_flag_to_pass(
    home: Path, database: Database
) -> None:
    here(home, "init", database=database)
    result = here(home, "connections", "create", "--service", "salesforce", database=database)
    assert result.returncode == 1
    assert "pass --param domain=VALUE" in result.stderr


def test_services_lint_accepts_a_valid_file_and_names_the_field_of_a_bad_one(
    home: Path, tmp_path: Path
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "name: Acme\nlink_name: acme\nbase_url: https://api.acme.io\nauth_type: basic\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Acme\nlink_name: Acme!\nauth_type: basic\n")
    ok = plugboard(home, "services", "lint", str(good))
    assert ok.returncode == 0 and "valid basic service 'acme'" in ok.stdout
    failed = plugboard(home, "services", "lint", str(bad))
    assert failed.returncode == 1 and failed.stderr.startswith("error: link_name: must match")


def test_authorize_receives_the_callback_itself_when_no_server_runs(
    home: Path, database: Database, provider: ProviderServer
) -> None:
    """No `plugboard serve`: the CLI listens on PLUGBOARD_BASE_URL for the provider's redirect."""
    port = _free_port()
    env = {
        **_env(home, database),
        "PLUGBOARD_BASE_URL": f"http://127.0.0.1:{port}",
        "PLUGBOARD_ALLOW_HTTP_HOSTS": "127.0.0.1",
        "PLUGBOARD_OUTBOUND_ALLOWLIST": "127.0.0.1",
        "PLUGBOARD_AS": "admin@plugboard.local",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        """The scene and the check, in this process; `authorize`, the subject, is a process."""
        return plugboard_in_process(args, env)

    assert run("init").returncode == 0
    client = provider.state.register_oauth2_client(
        redirect_uris=[f"http://127.0.0.1:{port}/oauth/callback"]
    )
    service = home.parent / "tp.yaml"
    service.write_text(
        f"name: TP\nlink_name: tp\nbase_url: {provider.base_url}\nauth_type: oauth2\noauth2:\n"
        f"  client_id: {client.client_id}\n  client_secret: {client.client_secret}\n"
        f"  authorize_url: {provider.base_url}/oauth2/authorize\n"
        f"  token_url: {provider.base_url}/oauth2/token\n"
        f"  token_endpoint_auth_method: client_secret_basic\n"
        f"  scopes: [{{name: read, description: Read}}]\n"
    )
    assert run("services", "create", "--file", str(service)).returncode == 0
    assert run("connections", "create", "--service", "tp", "--scope", "read").returncode == 0

    process = subprocess.Popen(
        [*PLUGBOARD, "authorize", "tp_connection", "--no-browser"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    page = httpx2.get(url, follow_redirects=True, timeout=10)
    out, err = process.communicate(timeout=60)

    assert page.status_code == 200 and "Connected" in page.text
    assert process.returncode == 0, err
    assert "Authorized tp_connection" in out
    listed = run("authorizations", "list", "tp_connection", "--json")
    assert '"status": "connected"' in listed.stdout
