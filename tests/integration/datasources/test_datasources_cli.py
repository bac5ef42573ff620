"""`plugboard datasources …` and `plugboard sync …` on the local store (the embedded client)
through typer's CliRunner: create, configure, reconfigure, disable, a sync run with `--wait`
(this process runs it, showing its pages and records), its records, and `--json` throughout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from plugboard.cli.main import app as cli
from plugboard.crypto.keyring import Keyring, write_key_file
from plugboard.domain.clock import ManualClock
from plugboard.errors import Conflict, RateLimited, ValidationError
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.usecases.runtime import Runtime
from tests.integration.datasources.conftest import DsWorld

DEV = ("--as", "dev@acme.test", "-w", "acme")


@pytest.fixture
def runtime(
    settings: Settings, database: Database, keyring: Keyring, clock: ManualClock
) -> Runtime:
    """The test's runtime reads its key from the key file in its home, as the CLI does."""
    write_key_file(settings.key_file, keyring.keys)
    return Runtime.open(settings, clock=clock, database=database)


@pytest.fixture
def plugboard(ds: DsWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("PLUGBOARD_HOME", str(ds.runtime.settings.home))
    monkeypatch.setenv("PLUGBOARD_DATABASE_URL", ds.runtime.database.url)
    monkeypatch.setenv("PLUGBOARD_ALLOW_HTTP_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PLUGBOARD_OUTBOUND_ALLOWLIST", "127.0.0.1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args))

    return run


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_datasources_and_a_waited_sync_with_the_cli(ds: DsWorld, plugboard: Any) -> None:
    ds.provider.state.records_total = 230
    made = as_json(plugboard("datasources", "create", "crm", "Seg", "--connection", "records",
                             "--module", "segment", *DEV, "--json"))  # fmt: skip
    assert made["config"] is None and made["configurable"] is True
    never = plugboard("datasources", "reconfigure", "crm", "Seg", "--set", "segment=x", *DEV)
    assert isinstance(never.exception, Conflict) and "never configured" in str(never.exception)
    bad = plugboard("datasources", "configure", "crm", "Seg", "--set", "segment=A/B", *DEV)
    assert isinstance(bad.exception, ValidationError) and bad.exception.field == "config.segment"
    first = as_json(plugboard("datasources", "configure", "crm", "Seg", "--set",
                              "segment=offset", *DEV, "--json"))  # fmt: skip
    assert first["config"] == {"segment": "offset"}
    again = as_json(plugboard("datasources", "reconfigure", "crm", "Seg", "--set",
                              "segment=cursor", *DEV, "--json"))  # fmt: skip
    assert again["config"] == {"segment": "cursor"}

    waited = plugboard("sync", "run", "crm/Seg", "--wait", *DEV)
    assert waited.exit_code == 0, (waited.output, waited.exception)
    assert "completed: 3 pages, 230 records (230 new or changed, 0 removed)" in waited.stdout
    assert "pages 3  records 230" in waited.stderr  # the progress display's last state

    page = as_json(plugboard("datasources", "records", "crm/Seg", "--limit", "2", *DEV, "--json"))
    assert [r["id"] for r in page["items"]] == ["rec-00001", "rec-00002"]
    assert page["next_cursor"] == "rec-00002"
    listed = as_json(plugboard("datasources", "list", "crm", *DEV, "--json"))
    assert [d["last_sync"]["records_seen"] for d in listed] == [230]
    shown = as_json(plugboard("sync", "show", listed[0]["last_sync"]["id"], *DEV, "--json"))
    assert shown == listed[0]["last_sync"]

    # Asked again by the same member within 24 hours: refused, naming the rule.
    refused = plugboard("sync", "run", made["id"], *DEV)
    assert isinstance(refused.exception, RateLimited)
    assert "once_per_24_hours" in refused.exception.message
    # Another member asks without waiting: queued, for a runner to pick up.
    queued = as_json(plugboard("sync", "run", made["id"], "--as", "admin@acme.test", "-w", "acme",
                               "--json"))  # fmt: skip
    assert (queued["started"], queued["sync"]["status"]) == (True, "queued")
    disabled = as_json(plugboard("datasources", "disable", "crm", "Seg", *DEV, "--json"))
    assert (disabled["enabled"], disabled["refusal"]) == (False, "disabled")
    assert as_json(plugboard("datasources", "delete", "crm", "Seg", *DEV, "--json")) == {
        "deleted": "Seg"
    }


def test_a_failed_waited_sync_exits_1_and_says_it_is_retryable(ds: DsWorld, plugboard: Any) -> None:
    ds.provider.state.records_total = 300
    ds.provider.state.fail_records_page = 2
    as_json(plugboard("datasources", "create", "crm", "People", "--connection", "records",
                      "--module", "cursor_list", *DEV, "--json"))  # fmt: skip
    failed = plugboard("sync", "run", "crm/People", "--wait", "--json", *DEV)
    assert failed.exit_code == 1
    assert json.loads(failed.stdout)["status"] == "failed"
    assert "page 2: the service answered HTTP 500 (retryable" in failed.stderr
