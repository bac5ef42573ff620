"""`plugboard authorize` for an OAuth 2 connection tells the truth: it waits until the consent
really ended, exits 0 only with the credential stored, and prints the provider's error when the
code exchange fails. The browser is an HTTP client following the consent URL to the bundled
test provider, which redirects back to the callback the CLI listens on."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select

from plugboard.store.database import Database
from plugboard.store.tables import authorizations, oauth_flows
from plugboard.testing.server import ProviderServer
from tests.cli_inprocess import plugboard_in_process
from tests.support import snapshot

PLUGBOARD = [sys.executable, "-m", "plugboard.cli"]
ADMIN = "admin@plugboard.local"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cli:
    env: dict[str, str]
    home: Path

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*PLUGBOARD, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def set_up(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A command that sets the scene (init, a service, a member): run in this process
        (tests/cli_inprocess.py); `authorize`, the subject, always runs as a real process."""
        return plugboard_in_process(args, self.env)

    def authorize(self, *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
        """Run `authorize`, consent in a "browser" as soon as the URL is printed; returns when
        the command does (the browser may still be waiting for the callback page)."""
        process = subprocess.Popen(
            [*PLUGBOARD, "authorize", *args, "--no-browser"],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert process.stdout is not None and process.stderr is not None
        json_output = "--json" in args
        url = ""
        if json_output:  # the URL is on stderr, stdout holds the JSON result
            url = process.stderr.readline().strip()
        else:
            url = process.stdout.readline().strip()
        assert url.startswith("http"), url
        browser = threading.Thread(
            target=lambda: httpx2.get(url, follow_redirects=True, timeout=30), daemon=True
        )
        browser.start()
        out, err = process.communicate(timeout=120)
        if not json_output:
            out = url + "\n" + out
        return subprocess.CompletedProcess(process.args, process.returncode, out, err), url


@pytest.fixture
def cli(tmp_path: Path, database: Database, provider: ProviderServer) -> Cli:
    """An initialized home whose CLI receives the provider's redirect itself (no server runs),
    with a custom OAuth 2 service `tp` on the test provider and a connection to it."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(
        PLUGBOARD_HOME=str(tmp_path / "home"),
        PLUGBOARD_DATABASE_URL=database.url,
        PLUGBOARD_BASE_URL=f"http://127.0.0.1:{port}",
        PLUGBOARD_ALLOW_HTTP_HOSTS="127.0.0.1",
        PLUGBOARD_OUTBOUND_ALLOWLIST="127.0.0.1",
        COLUMNS="200",
    )
    cli = Cli(env, tmp_path / "home")
    assert cli.set_up("init").returncode == 0
    return cli


def _service(
    cli: Cli, provider: ProviderServer, *, client_secret: str | None = None, level: str = "admin"
) -> None:
    client = provider.state.register_oauth2_client(
        redirect_uris=[f"{cli.env['PLUGBOARD_BASE_URL']}/oauth/callback"]
    )
    service = cli.home.parent / "tp.yaml"
    service.write_text(
        f"name: TP\nlink_name: tp\nauth_type: oauth2\n"
        f"base_url: {provider.base_url}/api/oauth2\n"
        f"oauth2:\n"
        f"  client_id: {client.client_id}\n"
        f"  client_secret: {client_secret or client.client_secret}\n"
        f"  authorize_url: {provider.base_url}/oauth2/authorize\n"
        f"  token_url: {provider.base_url}/oauth2/token\n"
        f"  token_endpoint_auth_method: client_secret_basic\n"
        f"  scopes: [{{name: read, description: Read}}]\n"
        f"account_name: {{source: userinfo, url: {provider.base_url}/oauth2/userinfo, "
        f"field: name}}\n" + ("allow_user_level: true\n" if level == "user" else "")
    )
    created = cli.set_up("services", "create", "--file", str(service), "--as", ADMIN)
    assert created.returncode == 0, created.stderr
    connection = cli.set_up(
        "connections", "create", "--service", "tp", "--scope", "read", "--level", level,
        "--as", ADMIN,
    )  # fmt: skip
    assert connection.returncode == 0, connection.stderr


def _stored(database: Database) -> list[tuple[str, str | None]]:
    with database.engine.connect() as conn:
        return [
            (row.status, row.account_id)
            for row in conn.execute(select(authorizations.c.status, authorizations.c.account_id))
        ]


def test_authorize_exits_0_only_once_the_credential_is_stored(
    cli: Cli, provider: ProviderServer, database: Database
) -> None:
    _service(cli, provider)
    provider.state.token_endpoint_delay = 2.0  # the exchange outlasts a hasty poll
    result, _ = cli.authorize("tp_connection", "--as", ADMIN)
    stored = _stored(database)  # at once: the command has returned
    assert result.returncode == 0, result.stderr
    assert "Authorized tp_connection: connected: Ada Lovelace" in result.stdout
    assert len(stored) == 1 and stored[0][0] == "connected" and stored[0][1] is not None


def test_authorize_json_reports_the_stored_account(
    cli: Cli, provider: ProviderServer, database: Database
) -> None:
    _service(cli, provider)
    result, url = cli.authorize("tp_connection", "--as", ADMIN, "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["authorized"] is True and printed["state"] == "completed"
    assert printed["outcome"] == "connected: Ada Lovelace" and printed["authorize_url"] == url
    assert [status for status, _ in _stored(database)] == ["connected"]


def test_authorize_exits_1_with_the_providers_error_when_the_code_exchange_fails(
    cli: Cli, provider: ProviderServer, database: Database
) -> None:
    _service(cli, provider, client_secret="not-the-registered-secret")
    provider.state.token_endpoint_delay = 1.0  # the refusal comes after a hasty poll
    result, _ = cli.authorize("tp_connection", "--as", ADMIN)
    assert result.returncode == 1
    assert "Authorized" not in result.stdout
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: tp_connection was not authorized: ")
    assert "the code exchange failed: token endpoint HTTP 401 (invalid_client)" in error
    assert "not-the-registered-secret" not in result.stdout + result.stderr
    assert all(account is None for _, account in _stored(database))


def test_authorize_json_reports_the_failure_and_exits_1(cli: Cli, provider: ProviderServer) -> None:
    _service(cli, provider, client_secret="not-the-registered-secret")
    provider.state.token_endpoint_delay = 1.0  # the refusal comes after a hasty poll
    result, _ = cli.authorize("tp_connection", "--as", ADMIN, "--json")
    assert result.returncode == 1
    printed = json.loads(result.stdout)
    assert printed["authorized"] is False and printed["state"] == "failed"
    assert "invalid_client" in printed["error"]


def test_a_user_level_consent_without_a_primary_account_is_refused_before_any_flow(
    cli: Cli, provider: ProviderServer, database: Database
) -> None:
    _service(cli, provider, level="user")
    added = cli.set_up("users", "add", "member@example.com", "--role", "admin")
    assert added.returncode == 0, added.stderr
    before = snapshot(database)
    # Refused before any consent starts: in-process is enough (the other tests run `authorize`
    # as a real process that waits for the provider's callback).
    result = plugboard_in_process(
        ["authorize", "tp_connection", "--no-browser", "--as", "member@example.com"], cli.env
    )
    assert result.returncode == 1
    assert result.stdout == ""  # no consent URL: nobody is sent to the provider
    assert "has no primary account yet: a super admin must authorize it first" in result.stderr
    assert snapshot(database) == before
    with database.engine.connect() as conn:
        assert conn.execute(select(oauth_flows)).first() is None
