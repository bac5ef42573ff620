"""Issue 9 item 4: adding a member never reveals or captures another workspace's user.

Carol has an account in `globex`. When acme's super admin adds her address, the answer repeats
the request (no id, not her display name), she is not a member of acme, and she has a pending
invitation that only she can accept. Through the REST API and the CLI, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from plugboard.domain.models import Role
from plugboard.domain.principal import OPERATOR
from plugboard.errors import NotFound
from plugboard.server.app import create_app
from plugboard.store.database import Database
from plugboard.store.tables import audit_events
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime
from tests.cli_inprocess import cli_env, plugboard_in_process
from tests.integration.test_cli import plugboard
from tests.stack import Actor
from tests.support import snapshot

CAROL = "carol@globex.test"
CAROL_NAME = "Carol Hidden-Name"

Api = Callable[..., TestClient]


@pytest.fixture
def carol(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        identity.add_user(
            unit, OPERATOR, email=CAROL, role=Role.DEVELOPER, workspace="globex", name=CAROL_NAME
        )


@pytest.fixture
def api(runtime: Runtime, members: Actor, carol: None) -> Iterator[Api]:
    """`api(email, workspace)`: a client with a token of that member; its first use stamped."""
    clients: list[TestClient] = []

    def client_for(email: str, workspace: str) -> TestClient:
        with runtime.unit() as unit:
            issued = identity.create_token(unit, OPERATOR, email=email, workspace=workspace)
        client = TestClient(create_app(runtime.settings, runtime=runtime))
        client.__enter__()
        clients.append(client)
        client.headers["Authorization"] = f"Bearer {issued.secret}"
        assert client.get("/api/v1/me").status_code == 200
        return client

    yield client_for
    for client in clients:
        client.__exit__(None, None, None)


def _is_member(runtime: Runtime, email: str, workspace: str) -> bool:
    try:
        with runtime.unit(write=False) as unit:
            identity.principal_for(unit, email, workspace, via="test")
    except NotFound:
        return False
    return True


def _invite_carol(api: Api, role: str = "admin") -> dict[str, object]:
    response = api("root@acme.test", "acme").post(
        "/api/v1/users", json={"email": CAROL, "role": role}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_adding_an_existing_account_answers_from_the_request_only(api: Api) -> None:
    added = _invite_carol(api)
    assert added == {
        "email": CAROL,
        "name": "carol",
        "role": "admin",
        "workspace": "acme",
        "status": "invited",
    }


def test_an_invited_account_is_not_a_member_until_it_accepts(runtime: Runtime, api: Api) -> None:
    _invite_carol(api)
    assert not _is_member(runtime, CAROL, "acme")
    members = api("root@acme.test", "acme").get("/api/v1/users").json()["items"]
    assert CAROL not in [m["email"] for m in members]
    assert CAROL_NAME not in json.dumps(members)


def test_the_invitation_is_audited_without_the_accounts_name(runtime: Runtime, api: Api) -> None:
    _invite_carol(api)
    with runtime.unit(write=False) as unit:
        rows = unit.conn.execute(select(audit_events)).all()
    invites = [r for r in rows if r.action == "user.invite"]
    assert len(invites) == 1 and invites[0].actor == "user:root@acme.test"
    assert CAROL_NAME not in repr(rows)


def test_the_invited_person_sees_and_accepts_the_invitation(runtime: Runtime, api: Api) -> None:
    _invite_carol(api, role="developer")
    carol = api(CAROL, "globex")
    pending = carol.get("/api/v1/invitations").json()["items"]
    assert [(i["workspace"], i["role"], i["invited_by"]) for i in pending] == [
        ("acme", "developer", "user:root@acme.test")
    ]
    accepted = carol.post(f"/api/v1/invitations/{pending[0]['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["email"], accepted.json()["role"]) == (CAROL, "developer")
    with runtime.unit(write=False) as unit:
        assert identity.principal_for(unit, CAROL, "acme", via="test").role is Role.DEVELOPER
        actions = [r.action for r in unit.conn.execute(select(audit_events))]
    assert "invitation.accept" in actions
    assert carol.get("/api/v1/invitations").json()["items"] == []


def test_inviting_again_keeps_one_invitation_with_the_new_role(api: Api) -> None:
    _invite_carol(api, role="user")
    _invite_carol(api, role="developer")
    pending = api(CAROL, "globex").get("/api/v1/invitations").json()["items"]
    assert [i["role"] for i in pending] == ["developer"]


def test_nobody_else_sees_or_accepts_someone_elses_invitation(
    runtime: Runtime, database: Database, api: Api
) -> None:
    _invite_carol(api)
    invitation_id = api(CAROL, "globex").get("/api/v1/invitations").json()["items"][0]["id"]
    for email, workspace in (("dev@globex.test", "globex"), ("root@acme.test", "acme")):
        other = api(email, workspace)
        assert other.get("/api/v1/invitations").json()["items"] == []
        before = snapshot(database)
        refused = other.post(f"/api/v1/invitations/{invitation_id}/accept")
        unknown = other.post("/api/v1/invitations/inv_unknown/accept")
        assert refused.status_code == unknown.status_code == 404
        assert refused.json()["detail"].replace(invitation_id, "ID") == unknown.json()[
            "detail"
        ].replace("inv_unknown", "ID")
        assert snapshot(database) == before
    assert not _is_member(runtime, CAROL, "acme")


def test_a_refused_add_changes_nothing(database: Database, api: Api) -> None:
    admin = api("admin@acme.test", "acme")
    before = snapshot(database)
    refused = admin.post("/api/v1/users", json={"email": CAROL, "role": "super_admin"})
    assert refused.status_code == 403
    assert snapshot(database) == before


def test_the_cli_invites_an_existing_account_and_its_owner_accepts(
    tmp_path: Path, database: Database
) -> None:
    # The commands run in this process (tests/cli_inprocess.py): their subject is what each one
    # does to the store and prints; test_cli.py runs `users` commands as real processes.
    env = cli_env(tmp_path / "home", database.url)

    def run(*args: str) -> str:
        result = plugboard_in_process(args, env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    run("init")
    run("workspaces", "create", "acme")
    # One as a real process: the `workspaces` commands have no other.
    created = plugboard(tmp_path / "home", "workspaces", "create", "globex", "--kind", "client",
                        database=database)  # fmt: skip
    assert created.returncode == 0, created.stderr
    run("users", "add", "root@acme.test", "--role", "super_admin", "-w", "acme")
    run("users", "add", CAROL, "--name", CAROL_NAME, "-w", "globex")

    added = json.loads(
        run(
            "users",
            "add",
            CAROL,
            "--role",
            "admin",
            "--as",
            "root@acme.test",
            "-w",
            "acme",
            "--json",
        )  # fmt: skip
    )
    assert added["status"] == "invited" and CAROL_NAME not in json.dumps(added)
    assert CAROL not in run("users", "list", "-w", "acme", "--json")

    pending = json.loads(run("users", "invitations", "--as", CAROL, "-w", "globex", "--json"))
    assert [(i["workspace"], i["role"]) for i in pending] == [("acme", "admin")]
    accepted = json.loads(
        run("users", "accept", pending[0]["id"], "--as", CAROL, "-w", "globex", "--json")
    )
    assert accepted["role"] == "admin" and accepted["email"] == CAROL
    members = json.loads(run("users", "list", "-w", "acme", "--json"))
    assert {m["email"]: m["role"] for m in members}[CAROL] == "admin"
