"""`pb.apps` of the remote client against a served Plugboard, answering the very records the
embedded client returns, and the CLI's apps commands with `--server`. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plugboard.cli.main import app as cli
from plugboard.client.local import LocalClient
from plugboard.client.remote import RemoteClient
from plugboard.domain.packages import read_package
from plugboard.domain.principal import OPERATOR, Principal
from plugboard.errors import Conflict, NotFound, PermissionDenied, ValidationError
from plugboard.usecases import identity
from tests.stack import Stack

APP = "property_sales"


def _token(stack: Stack, email: str, workspace: str) -> str:
    with stack.runtime.unit() as unit:
        issued = identity.create_token(unit, OPERATOR, email=email, workspace=workspace, name="sdk")
    return issued.secret


_OPEN: list[RemoteClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _remote(stack: Stack, name: str, workspace: str = "acme") -> RemoteClient:
    return _client(stack, _token(stack, f"{name}@{workspace}.test", workspace))


def _client(stack: Stack, token: str) -> RemoteClient:
    client = RemoteClient(stack.base_url, token)
    _OPEN.append(client)
    return client


def test_remote_pb_apps_answers_what_the_embedded_client_answers(
    stack: Stack, builder: Principal
) -> None:
    dev = _remote(stack, "dev")
    local = LocalClient(stack.runtime, principal=stack.members("dev"), workspace="acme")
    admin = _remote(stack, "admin", "globex")
    local_admin = LocalClient(stack.runtime, principal=stack.members("admin", "globex"))
    dev.connections.create(service="books", link_name="books_ledger", scopes=["invoices.read"])
    dev.connections.create(service="sheets", link_name="team_sheet", level="user")

    created = dev.apps.create(name="Property sales")
    form = dev.apps.put_component(APP, kind="form", name="Listing", connections=["books_ledger"])
    dev.apps.put_component(
        APP, kind="workflow", name="Sync", connections=["team_sheet"], services=["twilio"]
    )
    version = dev.apps.publish(APP, components=["form/Listing", "workflow/Sync"])
    package = dev.apps.package(APP)
    report = admin.apps.install(package)

    assert created.version == 0
    assert dev.apps.list() == local.apps.list()
    assert [a.version for a in dev.apps.list()] == [1]
    assert dev.apps.list(after=APP) == [] and dev.apps.list(limit=1) == local.apps.list()
    assert dev.apps.get(APP) == local.apps.get(APP)
    assert dev.apps.get(APP, environment="stage") == local.apps.get(APP, environment="stage")
    assert form.connections == ["books_ledger"]
    assert dev.apps.versions(APP) == local.apps.versions(APP) == [version]
    assert package == local.apps.package(APP, version=1)
    assert read_package(package).app.version == 1
    assert report.added == ["books_ledger", "team_sheet"] and report.environment == "production"
    assert admin.apps.panel(APP) == local_admin.apps.panel(APP)
    assert dev.apps.panel(APP, environment="development") == local.apps.panel(
        APP, environment="development"
    )
    imported = dev.apps.import_package(package)
    assert imported.renamed == {
        "books_ledger": "books_ledger_copy", "team_sheet": "team_sheet_copy",
    }  # fmt: skip


def test_remote_pb_apps_manages_users_access_tokens_and_raises_the_same_errors(
    stack: Stack, builder: Principal
) -> None:
    dev, root, user = _remote(stack, "dev"), _remote(stack, "root"), _remote(stack, "user")
    dev.connections.create(service="books", link_name="books_ledger", scopes=["invoices.read"])
    dev.apps.create(name="Property sales")
    dev.apps.create(name="Back office", link_name="back_office")
    dev.apps.put_component(APP, kind="workflow", name="Sync", services=["twilio"])

    assert root.apps.grant(APP, "user@acme.test") is True
    assert root.apps.grant(APP, "user@acme.test") is False
    assert [a.link_name for a in user.apps.list()] == [APP]
    assert root.apps.ungrant(APP, "user@acme.test") is True
    assert dev.apps.enable_access("back_office", "books_ledger").link_name == "books_ledger"
    assert dev.apps.disable_access("back_office", "books_ledger").link_name == "books_ledger"
    assert dev.apps.rename("back_office", name="Back office 2").name == "Back office 2"
    issued = dev.apps.create_token(APP, name="prod")
    assert [t.id for t in dev.apps.tokens(APP)] == [issued.id]
    app = _client(stack, issued.secret)
    made = app.apps.system_connection(APP, "twilio")
    assert made.created is True and made.connection.level == "system"
    assert app.apps.system_connection(APP, "twilio").created is False
    assert [a.link_name for a in app.apps.list()] == [APP]
    assert app.apps.get(APP).link_name == APP
    assert dev.apps.revoke_token(APP, issued.id).revoked_at is not None
    dev.apps.delete_component(APP, kind="workflow", name="Sync")
    dev.apps.delete("back_office")
    assert [a.link_name for a in dev.apps.list()] == [APP]

    with pytest.raises(PermissionDenied):
        user.apps.create(name="Shadow")
    with pytest.raises(NotFound):
        user.apps.get(APP)
    with pytest.raises(ValidationError) as tampered:
        _remote(stack, "admin", "globex").apps.install(b'{"format": "x", "digest": "sha256:0"}')
    assert tampered.value.field == "digest"
    dev.apps.put_component(APP, kind="form", name="Listing", connections=["books_ledger"])
    with pytest.raises(Conflict) as referenced:
        dev.apps.disable_access(APP, "books_ledger")
    assert referenced.value.details["rule"] == "referenced"


def test_the_cli_runs_the_apps_commands_on_a_server(
    stack: Stack, builder: Principal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLUGBOARD_HOME", str(tmp_path / "nothing-here"))
    dev = ["--server", stack.base_url, "--token", _token(stack, "dev@acme.test", "acme")]
    admin = ["--server", stack.base_url, "--token", _token(stack, "admin@globex.test", "globex")]
    _remote(stack, "dev").connections.create(
        service="books", link_name="books_ledger", scopes=["invoices.read"]
    )

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    run(*dev, "apps", "create", "Property sales")
    run(*dev, "components", "put", APP, "form", "Listing", "-c", "books_ledger")
    published = json.loads(run(*dev, "apps", "publish", APP, "--json"))
    written = json.loads(run(*dev, "apps", "package", APP, "--json"))
    installed = run(*admin, "apps", "install", f"{APP}-1.plugboard.json")
    shown = json.loads(run(*admin, "apps", "show", APP, "--json"))
    token = json.loads(run(*admin, "apps", "tokens", "create", APP, "--json"))
    refused = CliRunner().invoke(cli, [*dev, "apps", "list", "--workspace", "acme"])

    assert published["number"] == 1
    assert written["file"] == f"{APP}-1.plugboard.json" and written["version"] == 1
    assert "added: books_ledger" in installed
    assert (shown["origin"], shown["environment"]) == ("installed", "production")
    assert [c["name"] for c in shown["components"]] == ["Listing"]
    assert token["secret"].startswith("pba_")
    assert isinstance(refused.exception, ValidationError)
    assert refused.exception.field == "--workspace"
