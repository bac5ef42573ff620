"""`plugboard packages verify` reads a package file and nothing else: it shows what the file
holds, and refuses what install would refuse, naming the field (no store, no key needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plugboard.cli.main import app as cli
from plugboard.domain.packages import digest_of, write_package
from plugboard.errors import ValidationError

CONTENT = {
    "format": "plugboard.package/1",
    "app": {"link_name": "sales", "name": "Sales", "version": 3, "source": "acme/sales"},
    "components": [{"kind": "form", "name": "Deal", "connections": ["ledger"], "services": []}],
    "connections": [
        {"link_name": "ledger", "name": "Ledger", "service": "zoho_books", "level": "admin"}
    ],
    "services": [],
}


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLUGBOARD_HOME", str(tmp_path / "no-home"))  # nothing to open
    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "sales-3.plugboard.json"
    path.write_bytes(write_package(CONTENT))
    return path


def test_verify_shows_what_a_package_holds(package: Path) -> None:
    result = CliRunner().invoke(cli, ["packages", "verify", str(package)])

    assert result.exit_code == 0, result.output
    assert "Sales (sales) version 3 from acme/sales: digest ok" in result.output
    assert "ledger" in result.output and "zoho_books" in result.output
    assert not (package.parent / "no-home").exists()


def test_verify_json_is_the_package_content(package: Path) -> None:
    result = CliRunner().invoke(cli, ["packages", "verify", str(package), "--json"])

    assert json.loads(result.output)["app"]["version"] == 3


def test_verify_refuses_a_forged_credential_naming_the_field(package: Path) -> None:
    document = json.loads(package.read_bytes())
    document.pop("digest")
    document["connections"][0]["api_key"] = "forged-key-value"
    package.write_text(json.dumps({**document, "digest": digest_of(document)}))

    result = CliRunner().invoke(cli, ["packages", "verify", str(package)])

    assert result.exit_code != 0
    assert isinstance(result.exception, ValidationError)  # the CLI's runner prints it, one line
    assert result.exception.field == "connections[0].api_key"
    assert "forged-key-value" not in str(result.exception) + result.output


def test_install_and_import_are_there_too() -> None:
    result = CliRunner().invoke(cli, ["packages", "--help"])

    assert result.exit_code == 0
    assert all(command in result.output for command in ("verify", "install", "import"))
