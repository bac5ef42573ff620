"""`plugboard invoke` as a person runs it: a real process against a plain-HTTP upstream."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugboard.crypto.keyring import Keyring, format_key
from plugboard.domain.credentials import ApiKeyCredential
from plugboard.store.database import Database
from tests.integration.invoke_support import (  # noqa: F401
    Provider,
    ServerThread,
    World,
    provider,
    running_provider,
    world,
)


@pytest.fixture(scope="module")
def plain_upstream() -> Iterator[tuple[Provider, int]]:
    """The provider's app over plain HTTP on 127.0.0.1 (the CLI has no test resolver)."""
    app = Provider()
    server = ServerThread(app.app).start()
    yield app, server.port
    server.stop()


def _run(
    database: Database, keyring: Keyring, home: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(
        PLUGBOARD_HOME=str(home),
        PLUGBOARD_DATABASE_URL=database.url,
        PLUGBOARD_MASTER_KEYS=",".join(format_key(k) for k in keyring.keys),
        PLUGBOARD_OUTBOUND_ALLOWLIST="127.0.0.1",
        PLUGBOARD_ALLOW_HTTP_HOSTS="127.0.0.1",
    )
    return subprocess.run(
        [sys.executable, "-m", "plugboard.cli", "invoke", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _connection(world: World, upstream: Provider, port: int) -> str:
    upstream.state = world.state  # same expected key on both servers
    service = world.service("apikey", base_url=f"http://127.0.0.1:{port}/api/apikey")
    link = world.connection(service, link="keys")
    world.store(
        link,
        ApiKeyCredential({"X-Api-Key": world.state.api_key, "account": world.state.api_account}),
    )
    return link


def test_invoke_prints_the_status_headers_and_body(
    world: World,
    plain_upstream: tuple[Provider, int],
    database: Database,
    keyring: Keyring,
    tmp_path: Path,
) -> None:
    upstream, port = plain_upstream
    link = _connection(world, upstream, port)
    url = f"http://127.0.0.1:{port}/api/apikey/items"
    result = _run(database, keyring, tmp_path, link, "POST", url, "-i", "--json-body", '{"a": 1}')
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.partition("\n\n")
    assert head.splitlines()[0] == "HTTP 200 OK"
    assert "content-type: application/json" in head.lower()
    assert '"kind":"apikey"' in body
    assert world.state.api_key not in result.stdout + result.stderr


def test_invoke_json_prints_the_status_headers_and_parsed_body(
    world: World,
    plain_upstream: tuple[Provider, int],
    database: Database,
    keyring: Keyring,
    tmp_path: Path,
) -> None:
    import json

    upstream, port = plain_upstream
    link = _connection(world, upstream, port)
    url = f"http://127.0.0.1:{port}/api/apikey/items"
    result = _run(database, keyring, tmp_path, link, "GET", url, "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["status"] == 200 and printed["reason"] == "OK"
    assert printed["url"] == url
    assert ["content-type", "application/json"] in printed["headers"]
    assert printed["json"]["kind"] == "apikey"
    assert world.state.api_key not in result.stdout + result.stderr


def test_invoke_exits_3_when_an_authorization_is_required(
    world: World,
    plain_upstream: tuple[Provider, int],
    database: Database,
    keyring: Keyring,
    tmp_path: Path,
) -> None:
    link = world.connection(world.service("apikey"), link="keys")
    url = f"http://127.0.0.1:{plain_upstream[1]}/api/apikey/items"
    result = _run(database, keyring, tmp_path, link, "GET", url)
    assert result.returncode == 3
    assert "an admin must authorize this connection" in result.stderr


def test_invoke_exits_4_when_the_host_cannot_be_reached(
    world: World,
    plain_upstream: tuple[Provider, int],
    database: Database,
    keyring: Keyring,
    tmp_path: Path,
) -> None:
    link = _connection(world, plain_upstream[0], plain_upstream[1])
    result = _run(database, keyring, tmp_path, link, "GET", "http://10.0.0.1/x")
    assert result.returncode == 4
    assert "outbound_blocked" in result.stderr
