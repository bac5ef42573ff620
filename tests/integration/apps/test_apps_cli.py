"""`plugboard apps …` and `plugboard components …` on the local store (the embedded client),
through typer's CliRunner in this process: an app's whole way from a developer workspace into
a client workspace, `--json` for every command, and the refusals. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from plugboard.cli.main import app as cli
from plugboard.crypto.keyring import Keyring, write_key_file
from plugboard.domain.clock import ManualClock
from plugboard.domain.packages import read_package
from plugboard.domain.principal import Principal
from plugboard.errors import PermissionDenied, ValidationError
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.runtime import Runtime

APP = "property_sales"
Cli = Callable[..., Result]


@pytest.fixture
def runtime(
    settings: Settings, database: Database, keyring: Keyring, clock: ManualClock
) -> Runtime:
    """The test's runtime reads its key from the key file in its home, as the CLI does."""
    write_key_file(settings.key_file, keyring.keys)
    return Runtime.open(settings, clock=clock, database=database)


@pytest.fixture
def plugboard(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """Runs `plugboard ARGS` on the test's store, in a folder of its own."""
    monkeypatch.setenv("PLUGBOARD_HOME", str(runtime.settings.home))
    monkeypatch.setenv("PLUGBOARD_DATABASE_URL", runtime.database.url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)

    def run(*args: str, input: bytes | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input)

    return run


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


@pytest.fixture
def built(builder: Principal, connections_of: Callable[[Principal], Connections]) -> Principal:
    conns = connections_of(builder)
    conns.create(service="books", link_name="books_ledger", name="Books ledger",
                 scopes=["invoices.read"])  # fmt: skip
    conns.create(service="sheets", link_name="team_sheet", name="Team sheet", level="user")
    return builder


DEV = ("--as", "dev@acme.test", "-w", "acme")


def test_an_app_is_built_published_packaged_and_installed_with_the_cli(
    plugboard: Cli, built: Principal, tmp_path: Path
) -> None:
    created = as_json(plugboard("apps", "create", "Property sales", *DEV, "--json"))
    listing = as_json(plugboard(
        "components", "put", APP, "form", "Listing", "--connection", "books_ledger", *DEV,
        "--json",
    ))  # fmt: skip
    sync = plugboard("components", "put", APP, "workflow", "Sync", "-c", "team_sheet", "-s",
                     "twilio", *DEV)  # fmt: skip
    components = as_json(plugboard("components", "list", APP, *DEV, "--json"))
    shown = plugboard("apps", "show", APP, *DEV)
    published = as_json(plugboard("apps", "publish", APP, *DEV, "--json"))
    versions = as_json(plugboard("apps", "versions", APP, *DEV, "--json"))
    packaged = plugboard("apps", "package", APP, *DEV)
    file = tmp_path / f"{APP}-1.plugboard.json"
    installed = plugboard("apps", "install", str(file), "-w", "globex")
    listed = as_json(plugboard("apps", "list", "-w", "globex", "--json"))

    assert (created["link_name"], created["name"]) == (APP, "Property sales")
    assert (listing["kind"], listing["connections"]) == ("form", ["books_ledger"])
    assert sync.exit_code == 0, sync.output
    assert "Saved workflow 'Sync' of property_sales; uses team_sheet, service twilio" in sync.stdout
    assert sorted(c["name"] for c in components) == ["Listing", "Sync"]
    assert shown.exit_code == 0 and "Property sales" in shown.stdout
    assert "books_ledger" in shown.stdout and "twilio" in shown.stdout
    assert (published["number"], published["components"]) == (1, 2)
    assert [v["number"] for v in versions] == [1]
    assert packaged.exit_code == 0, packaged.output
    assert f"Wrote {APP}-1.plugboard.json" in packaged.stdout
    assert read_package(file.read_bytes()).app.version == 1
    assert installed.exit_code == 0, installed.output
    assert f"Installed 'Property sales' ({APP}) version 1 into production" in installed.stdout
    assert "added: books_ledger, team_sheet" in installed.stdout
    assert "services created: books, sheets" in installed.stdout
    assert "Next: authorize books_ledger, team_sheet in production" in installed.stderr
    assert [(a["link_name"], a["origin"]) for a in listed] == [(APP, "installed")]


def test_an_update_reports_what_changed_and_an_import_makes_copies(
    plugboard: Cli, built: Principal, connections_of: Callable[[Principal], Connections]
) -> None:
    plugboard("apps", "create", "Property sales", *DEV)
    plugboard("components", "put", APP, "form", "Listing", "-c", "books_ledger", *DEV)
    plugboard("components", "put", APP, "page", "Team", "-c", "team_sheet", *DEV)
    plugboard("apps", "publish", APP, *DEV)
    plugboard("apps", "package", APP, *DEV, "-o", "v1.json")
    assert plugboard("apps", "install", "v1.json", "-w", "globex").exit_code == 0
    connections_of(built).edit("books_ledger", scopes=["invoices.read", "invoices.write"])
    plugboard("apps", "publish", APP, *DEV)
    stdout = plugboard("apps", "package", APP, *DEV, "-o", "-")

    updated = plugboard("apps", "install", "-", "-w", "globex", input=stdout.stdout_bytes)
    imported = as_json(plugboard("apps", "import", "v1.json", *DEV, "--json"))

    assert read_package(stdout.stdout_bytes).app.version == 2
    assert updated.exit_code == 0, updated.output
    assert f"Updated {APP} from version 1 to 2" in updated.stdout
    assert "updated: books_ledger" in updated.stdout
    assert "unchanged: team_sheet" in updated.stdout
    assert imported["app"]["link_name"] == f"{APP}_copy"
    assert imported["renamed"] == {
        "books_ledger": "books_ledger_copy", "team_sheet": "team_sheet_copy",
    }  # fmt: skip
    imported_text = plugboard("apps", "import", "v1.json", *DEV)
    assert "renamed copies: books_ledger -> books_ledger_copy_2" in imported_text.stdout


def test_members_tokens_access_and_system_connections_with_the_cli(
    plugboard: Cli, built: Principal
) -> None:
    plugboard("apps", "create", "Property sales", *DEV)
    plugboard("components", "put", APP, "workflow", "Sync", "-c", "team_sheet", "-s", "twilio",
              *DEV)  # fmt: skip
    plugboard("apps", "create", "Back office", *DEV)
    root = ("--as", "root@acme.test", "-w", "acme")

    granted = as_json(plugboard("apps", "grant", APP, "user@acme.test", *root, "--json"))
    again = plugboard("apps", "grant", APP, "user@acme.test", *root)
    panel = as_json(plugboard("apps", "panel", APP, "--as", "user@acme.test", "-w", "acme",
                              "--json"))  # fmt: skip
    panel_text = plugboard("apps", "panel", APP, *DEV)
    ungranted = as_json(plugboard("apps", "ungrant", APP, "user@acme.test", *root, "--json"))
    enabled = as_json(plugboard("apps", "access", "enable", "back_office", "books_ledger", *DEV,
                                "--json"))  # fmt: skip
    disabled = plugboard("apps", "access", "disable", "back_office", "books_ledger", *DEV)
    system = plugboard("apps", "system-connection", APP, "twilio", *DEV)
    system_again = as_json(plugboard("apps", "system-connection", APP, "twilio", *DEV, "--json"))
    issued = as_json(plugboard("apps", "tokens", "create", APP, "--name", "prod", *DEV, "--json"))
    tokens = plugboard("apps", "tokens", "list", APP, *DEV, "--json")
    revoked = as_json(plugboard("apps", "tokens", "revoke", APP, issued["id"], *DEV, "--json"))
    renamed = plugboard("apps", "rename", "back_office", "Back office 2", *DEV)
    removed = as_json(plugboard("components", "delete", APP, "workflow", "Sync", *DEV, "--json"))
    deleted = plugboard("apps", "delete", "back_office", *DEV)

    assert granted == {"app": APP, "user": "user@acme.test", "changed": True}
    assert "user@acme.test already was a user of property_sales" in again.stdout
    assert [(e["link_name"], e["level"]) for e in panel] == [("team_sheet", "user")]
    assert "team_sheet" in panel_text.stdout
    assert ungranted["changed"] is True
    assert enabled["link_name"] == "books_ledger"
    assert "books_ledger is no longer enabled for back_office" in disabled.stdout
    assert system.exit_code == 0, system.output
    assert "Created system connection" in system.stdout and "for twilio" in system.stdout
    assert system_again["created"] is False
    assert system_again["connection"]["level"] == "system"
    assert issued["secret"].startswith("pba_") and issued["name"] == "prod"
    assert tokens.exit_code == 0 and issued["secret"] not in tokens.stdout
    assert [t["id"] for t in json.loads(tokens.stdout)] == [issued["id"]]
    assert revoked["revoked_at"] is not None and "secret" not in revoked
    assert "Renamed back_office to 'Back office 2'" in renamed.stdout
    assert removed == {"deleted": "workflow/Sync"}
    assert "Deleted app back_office" in deleted.stdout
    listed = as_json(plugboard("apps", "list", *DEV, "--json"))
    assert [a["link_name"] for a in listed] == [APP]


def test_refusals_reach_the_cli_as_the_same_errors(
    plugboard: Cli, built: Principal, tmp_path: Path
) -> None:
    by_a_user = plugboard("apps", "create", "Shadow", "--as", "user@acme.test", "-w", "acme")
    unknown = plugboard("components", "put", "nope", "form", "X", *DEV)
    (tmp_path / "bad.json").write_text('{"format": "plugboard.package/1"}')
    bad_package = plugboard("apps", "install", "bad.json", "-w", "globex")
    missing = plugboard("apps", "install", "missing.json", "-w", "globex")

    assert isinstance(by_a_user.exception, PermissionDenied)
    assert unknown.exit_code != 0
    assert isinstance(bad_package.exception, ValidationError)
    assert bad_package.exception.field == "digest"
    assert isinstance(missing.exception, ValidationError)
    assert missing.exception.field == "file"
    assert as_json(plugboard("apps", "list", *DEV, "--json")) == []


def test_every_command_has_help() -> None:
    groups = {
        "apps": ["list", "show", "create", "rename", "delete", "publish", "versions", "package",
                 "install", "import", "grant", "ungrant", "panel", "system-connection"],
        "apps access": ["enable", "disable"],
        "apps tokens": ["create", "list", "revoke"],
        "components": ["put", "delete", "list"],
    }  # fmt: skip
    for group, commands in groups.items():
        for command in commands:
            shown = CliRunner().invoke(cli, [*group.split(), command, "--help"])
            assert shown.exit_code == 0, (group, command, shown.output)
            assert "--json" in shown.stdout, (group, command)
