"""Issue 9 item 3: a `user` invokes only what is theirs (docs/permissions.md: invoke_shared,
invoke_own, invoke_for_users). An admin or system connection is hidden from a `user` on invoke
exactly as on GET (404), over REST, the proxy, the SDK and the CLI; the refusal changes nothing
in the store but the failed-invoke audit entry every failed invoke gets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

import plugboard
from plugboard import NotFound, PermissionDenied
from plugboard.client import LocalClient
from plugboard.testing.provider_state import DEMO_API_KEY
from tests.integration.remote_support import key_connection, proxy_client, token
from tests.stack import Stack
from tests.support import snapshot

SHARED_LEVELS = pytest.mark.parametrize("level", ["admin", "system"])


def _store_and_audit(stack: Stack) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """The store without the audit log, and the audit log."""
    rows = snapshot(stack.runtime.database)
    audit = rows.pop("audit_events")
    return rows, audit


def _assert_only_a_failed_invoke_was_audited(
    stack: Stack, before: tuple[dict[str, Any], list[tuple[Any, ...]]], error: str
) -> None:
    store, audit = _store_and_audit(stack)
    assert store == before[0]
    added = [row for row in audit if row not in before[1]]
    assert len(added) == 1
    assert "connection.invoke" in added[0] and "failed" in added[0]
    assert error in " ".join(added[0])
    assert DEMO_API_KEY not in " ".join(added[0])


def _user_api(stack: Stack) -> httpx2.Client:
    api = stack.api("user")
    assert api.get("/me").status_code == 200  # the token's first use is noted now, not later
    return api


@SHARED_LEVELS
def test_a_user_invoking_a_shared_connection_gets_the_404_of_get(stack: Stack, level: str) -> None:
    link = key_connection(stack, level=level)
    api = _user_api(stack)
    shown = api.get(f"/connections/{link}")
    before = _store_and_audit(stack)

    invoked = api.post("/invoke", json={"connection": link, "url": "/orders"})

    assert shown.status_code == invoked.status_code == 404
    assert invoked.json()["type"] == shown.json()["type"]
    assert invoked.json()["detail"] == shown.json()["detail"]
    _assert_only_a_failed_invoke_was_audited(stack, before, "not_found")


@SHARED_LEVELS
def test_a_user_cannot_proxy_through_a_shared_connection_to_any_url(
    stack: Stack, level: str
) -> None:
    link = key_connection(stack, level=level)
    agent = proxy_client(stack, "user")
    assert agent.get("/api/v1/me").status_code == 200
    before = _store_and_audit(stack)

    plain = agent.get(f"/proxy/{link}/orders")
    elsewhere = agent.get(
        f"/proxy/{link}/anything", headers={"X-Plugboard-Base-Url": stack.provider.base_url}
    )

    assert plain.status_code == elsewhere.status_code == 404
    assert plain.json()["type"].endswith("/not_found")
    store, _ = _store_and_audit(stack)
    assert store == before[0]


@pytest.mark.parametrize("kind", ["local", "remote"])
def test_sdk_code_of_a_user_gets_not_found_for_a_shared_connection(stack: Stack, kind: str) -> None:
    link = key_connection(stack)
    pb = (
        LocalClient(stack.runtime, principal=stack.members("user"))
        if kind == "local"
        else plugboard.connect(stack.base_url, token=token(stack, "user"))
    )
    with pb:
        with pytest.raises(NotFound) as fetched:
            pb.connections.get(link)
        with pytest.raises(NotFound) as invoked:
            pb.invoke_url("/orders", connection=link)
    assert invoked.value.to_dict() == fetched.value.to_dict()


def test_the_cli_of_a_user_gets_not_found_for_a_shared_connection(
    stack: Stack, tmp_path: Path
) -> None:
    link = key_connection(stack)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env["PLUGBOARD_HOME"] = str(tmp_path / "nothing-here")
    remote = ["--server", stack.base_url, "--token", token(stack, "user")]
    done = subprocess.run(
        [sys.executable, "-m", "plugboard.cli", *remote, "invoke", link, "GET", "/orders"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "[not_found]" in done.stderr
    assert DEMO_API_KEY not in done.stdout + done.stderr


def test_a_user_invokes_a_user_level_connection_with_their_own_authorization(
    stack: Stack,
) -> None:
    link = key_connection(stack, level="user", authorized=False)
    for member in ("root", "user"):  # root authorizes first: the primary account
        entered = stack.api(member).post(
            f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}}
        )
        assert entered.status_code == 201, entered.text
    api = stack.api("user")

    invoked = api.post("/invoke", json={"connection": link, "url": "/orders"})
    proxied = proxy_client(stack, "user").get(f"/proxy/{link}/orders")

    assert invoked.status_code == 200 and invoked.json()["status"] == 200, invoked.text
    assert proxied.status_code == 200, proxied.text


def test_a_users_token_that_acts_for_users_cannot_use_others_authorizations(
    stack: Stack,
) -> None:
    link = key_connection(stack, level="user", authorized=False)
    for member in ("root", "dev"):  # root authorizes first: the primary account
        entered = stack.api(member).post(
            f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}}
        )
        assert entered.status_code == 201, entered.text
    agent = proxy_client(stack, "user", acts_for_users=True)
    assert agent.get("/api/v1/me").status_code == 200
    before = _store_and_audit(stack)

    for_dev = agent.get(f"/proxy/{link}/orders", headers={"X-Plugboard-User": "dev@acme.test"})
    for_nobody = agent.post("/api/v1/invoke", json={"connection": link, "url": "/orders"})

    assert for_dev.status_code == for_nobody.status_code == 403
    assert for_nobody.json()["type"].endswith("/permission_denied")
    store, _ = _store_and_audit(stack)
    assert store == before[0]


def test_an_admins_token_that_acts_for_users_still_does(stack: Stack) -> None:
    link = key_connection(stack, level="user", authorized=False)
    for who in ("root", "dev"):  # the primary account first, then the developer's own
        entered = stack.api(who).post(
            f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}}
        )
        assert entered.status_code == 201, entered.text
    agent = proxy_client(stack, "admin", acts_for_users=True)

    for_root = agent.get(f"/proxy/{link}/orders", headers={"X-Plugboard-User": "dev@acme.test"})
    primary = agent.post("/api/v1/invoke", json={"connection": link, "url": "/orders"})

    assert for_root.status_code == 200, for_root.text
    assert primary.status_code == 200 and primary.json()["status"] == 200, primary.text


def test_a_developer_invokes_a_shared_connection(stack: Stack) -> None:
    link = key_connection(stack)
    invoked = stack.api("dev").post("/invoke", json={"connection": link, "url": "/orders"})
    assert invoked.status_code == 200 and invoked.json()["status"] == 200, invoked.text


def test_permission_denied_is_what_a_user_gets_acting_for_others_over_the_sdk(
    stack: Stack,
) -> None:
    link = key_connection(stack, level="user", authorized=False)
    stack.api("root").post(
        f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}}
    )
    with plugboard.connect(stack.base_url, token=token(stack, "user", acts_for_users=True)) as pb:
        with pytest.raises(PermissionDenied):
            pb.invoke_url("/orders", connection=link)
