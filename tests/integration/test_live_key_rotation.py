"""`plugboard keys rotate` while a server runs: the running process learns the new key from the
key file when it meets it, so invokes keep working without a restart."""

from __future__ import annotations

import textwrap

import httpx2
import pytest
import yaml
from typer.testing import CliRunner

from plugboard.cli.main import app as cli
from plugboard.crypto.keyring import Keyring, read_key_file, write_key_file
from plugboard.crypto.sealing import Sealer
from plugboard.domain.clock import ManualClock
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.store.sealed import iter_sealed_values
from plugboard.testing.provider_state import DEMO_API_KEY
from plugboard.usecases import keys
from plugboard.usecases.runtime import Runtime
from tests.stack import Stack


@pytest.fixture
def runtime(
    settings: Settings, database: Database, keyring: Keyring, clock: ManualClock
) -> Runtime:
    """The served runtime reads its keys from the key file in its home, as `plugboard serve`."""
    write_key_file(settings.key_file, keyring.keys)
    return Runtime.open(settings, clock=clock, database=database)


def _connected_api_key_link(stack: Stack, api: httpx2.Client, link: str) -> None:
    p = stack.provider.base_url
    service = textwrap.dedent(f"""
        name: Key {link}
        link_name: {link}svc
        base_url: {p}/api/apikey
        auth_type: api_key
        api_key:
          parameters: [{{param_type: header, name: X-Api-Key, display_name: API key}}]
    """)
    assert api.post("/services", json=yaml.safe_load(service)).status_code == 201
    created = api.post("/connections", json={"service": f"{link}svc", "link_name": link})
    assert created.status_code == 201, created.text
    values = {"values": {"X-Api-Key": DEMO_API_KEY}}
    entered = api.post(f"/connections/{link}/credentials", json=values)
    assert entered.status_code == 201, entered.text


def _invoke(api: httpx2.Client, link: str) -> httpx2.Response:
    return api.post("/invoke", json={"connection": link, "method": "GET", "url": "/me"})


def _sealed_key_ids(database: Database) -> set[str]:
    with database.engine.connect() as conn:
        return {Sealer.key_id_of(value) for *_, value in iter_sealed_values(conn)}


def test_invoke_keeps_working_after_another_runtime_rotates_the_keys(stack: Stack) -> None:
    api = stack.api("dev")
    _connected_api_key_link(stack, api, "before")
    assert _invoke(api, "before").status_code == 200
    old_key = stack.runtime.sealer.keyring.current.id

    other = Runtime.open(stack.runtime.settings, database=stack.runtime.database)
    rotation = keys.rotate(other)
    assert rotation.resealed > 0
    assert _sealed_key_ids(stack.runtime.database) == {rotation.new_key_id}

    result = _invoke(api, "before")
    assert result.status_code == 200, result.text
    assert result.json()["status"] == 200
    # The running process now encrypts with the new key too: nothing new lands under the old one.
    _connected_api_key_link(stack, api, "after")
    assert _invoke(api, "after").status_code == 200
    assert _sealed_key_ids(stack.runtime.database) == {rotation.new_key_id}
    assert stack.runtime.sealer.keyring.current.id == rotation.new_key_id != old_key


def test_invoke_keeps_working_after_the_cli_rotates_the_keys_on_the_same_home(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = stack.api("dev")
    _connected_api_key_link(stack, api, "svc")
    settings = stack.runtime.settings
    monkeypatch.setenv("PLUGBOARD_HOME", str(settings.home))
    monkeypatch.setenv("PLUGBOARD_DATABASE_URL", stack.runtime.database.url)

    rotated = CliRunner().invoke(cli, ["keys", "rotate"])

    assert rotated.exit_code == 0, rotated.output
    assert [k.id for k in read_key_file(settings.key_file)] == ["k1", "k2"]
    result = _invoke(api, "svc")
    assert result.status_code == 200, result.text
    assert result.json()["status"] == 200
