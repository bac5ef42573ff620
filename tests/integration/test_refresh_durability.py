"""A rotated refresh token survives its process (SPEC §5 "Refresh"): a process invoking against a
slow rotating provider is killed (SIGKILL) at random points of its refreshes, and the next
refresh in another process still works -- whenever the provider issued tokens to the dead
process, its answer is either stored or recovered (the attempt journal: wait for the lost
request, then the old refresh token once, which a provider with a reuse grace period accepts).

The provider refuses a refresh token while another request is refreshing with it, so a refresh
that does not know about the lost request (and sends the same token at once) loses the
authorization."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from plugboard.client.local import LocalClient
from plugboard.crypto.keyring import Keyring, format_key
from plugboard.crypto.sealing import PREFIX, Sealer
from plugboard.domain.clock import SystemClock
from plugboard.domain.credentials import OAuth2Credential
from plugboard.domain.models import AuthorizationStatus, ConnectionLevel
from plugboard.domain.principal import OPERATOR
from plugboard.errors import AuthorizationRequired, UpstreamError
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.store.tables import accounts, refresh_attempts
from plugboard.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ProviderServer
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service
from tests.integration.invoke_support import seed_workspace

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 20
LINK = "slow"

SERVICE = """
name: Slow rotating
link_name: slowrot
base_url: {base}/api/oauth2
auth_type: oauth2
oauth2:
  client_id: {client_id}
  client_secret: {client_secret}
  authorize_url: {base}/oauth2/authorize
  token_url: {base}/oauth2/token
  token_endpoint_auth_method: client_secret_basic
  scopes: [{{name: read, description: Read}}]
"""

# Imports Plugboard once, then forks an invoker for each "fork" line it reads (so a round does not
# wait for an interpreter to start). Each invoker opens its own runtime (its own database
# connections), says "ready <pid>" and invokes until it is killed; every invoke refreshes (the
# provider's tokens live 1 s, less than the refresh skew).
ZYGOTE = """
import os, signal, sys
from plugboard.client.local import LocalClient
from plugboard.errors import AuthorizationRequired, UpstreamError
from plugboard.settings import Settings
from plugboard.usecases.runtime import Runtime

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the killed invokers
print("zygote", flush=True)
for line in sys.stdin:
    if os.fork() == 0:
        runtime = Runtime.open(Settings())
        pb = LocalClient(runtime)
        print("ready", os.getpid(), flush=True)
        while True:
            pb.invoke_url("/me", connection=sys.argv[1])
"""

CHANGES: dict[str, Any] = {
    "allow_http_hosts": "127.0.0.1",
    "outbound_allowlist": "127.0.0.1",
    "invoke_cache_seconds": 0.0,
    "token_request_timeout_seconds": 0.5,
    "refresh_lock_timeout_seconds": 10.0,
    "refresh_cooldown_seconds": 0.0,
}


@pytest.fixture
def slow_provider(provider: ProviderServer) -> ProviderServer:
    state = provider.state
    state.rotate_refresh_tokens = True
    state.refresh_reuse_grace = 10.0
    state.refuse_refresh_in_use = True
    state.token_endpoint_delay = 0.1
    state.token_answer_delay = 0.1
    state.access_token_ttl = 1
    return provider


@pytest.fixture
def real_time(settings: Settings, database: Database, keyring: Keyring) -> Iterator[Runtime]:
    """The processes share the database and the wall clock (the children have no other)."""
    runtime = Runtime(
        settings=settings.model_copy(update=CHANGES),
        database=database,
        sealer=Sealer(keyring),
        clock=SystemClock(),
    )
    yield runtime


def _seed(runtime: Runtime, provider: ProviderServer) -> None:
    text = SERVICE.format(
        base=provider.base_url, client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET
    )
    tokens = provider.state.issue_tokens(DEMO_CLIENT_ID, scope="read")
    with runtime.unit() as unit:
        seed_workspace(unit)
        create_custom_service(unit, OPERATOR, text, http_hosts=["127.0.0.1"])
        create_connection(
            unit,
            OPERATOR,
            service="slowrot",
            link_name=LINK,
            level=ConnectionLevel.ADMIN,
            scopes=["read"],
        )
        store_credential(
            unit,
            OPERATOR,
            connection=LINK,
            credential=OAuth2Credential(tokens["access_token"], tokens["refresh_token"]),
            expires_at=unit.now() - timedelta(seconds=10),
        )


def _status(runtime: Runtime) -> AuthorizationStatus:
    with runtime.unit(write=False) as unit:
        ws = unit.workspaces.get("default")
        conn = unit.connections.get(ws.id, LINK)
        found = unit.accounts.authorized_account(conn.id, "all", None)
    assert found is not None
    return AuthorizationStatus(found.authorization.status)


def _zygote(database: Database, keyring: Keyring, home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update({f"PLUGBOARD_{name.upper()}": str(value) for name, value in CHANGES.items()})
    env.update(
        PLUGBOARD_HOME=str(home),
        PLUGBOARD_DATABASE_URL=database.url,
        PLUGBOARD_MASTER_KEYS=",".join(format_key(k) for k in keyring.keys),
        PYTHONPATH=str(REPO),
    )
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, LINK],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert zygote.stdout is not None
    assert zygote.stdout.readline().strip() == "zygote"
    return zygote


def _invoker(zygote: subprocess.Popen[str]) -> int:
    """Fork an invoker; returns its pid once it is about to invoke."""
    assert zygote.stdin is not None and zygote.stdout is not None
    zygote.stdin.write("fork\n")
    zygote.stdin.flush()
    word, pid = zygote.stdout.readline().split()
    assert word == "ready"
    return int(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # gone once the kernel has reaped it
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def _stop(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()


def _issued(provider: ProviderServer) -> int:
    return sum(
        1
        for call in provider.state.calls_to("oauth2.token")
        if call.grant_type == "refresh_token" and call.status == 200
    )


def test_killing_a_refreshing_process_never_loses_the_authorization(
    slow_provider: ProviderServer,
    real_time: Runtime,
    database: Database,
    keyring: Keyring,
    tmp_path: Path,
) -> None:
    _seed(real_time, slow_provider)
    survivor = LocalClient(real_time)
    rng = random.Random()
    zygote = _zygote(database, keyring, tmp_path / "home")
    issued_to_the_dead = 0
    pid: int | None = None
    try:
        for round_ in range(ROUNDS):
            before = _issued(slow_provider)
            pid = _invoker(zygote)
            time.sleep(rng.uniform(0.05, 0.5))
            _kill(pid)
            issued_to_the_dead += _issued(slow_provider) - before
            response = survivor.invoke_url("/me", connection=LINK)
            assert response.status == 200, f"round {round_}: {response.status}"
            assert _status(real_time) is AuthorizationStatus.CONNECTED, f"round {round_}"
    finally:
        if pid is not None:
            _kill(pid)
        _stop(zygote)
        survivor.close()
    assert issued_to_the_dead > 0  # the provider did issue tokens to processes that died


# -- a lost answer in one process: the journal, then the old refresh token once more ----------


def _lose_one_answer(runtime: Runtime, provider: ProviderServer) -> tuple[LocalClient, str]:
    """Seed, then refresh once against a provider that answers after the token request's
    timeout: it rotates the refresh token, the answer is lost. Returns the client and the
    refresh token that was sent."""
    _seed(runtime, provider)
    sent = _stored_refresh_token(runtime)
    provider.state.token_answer_delay = 1.0  # longer than token_request_timeout_seconds
    client = LocalClient(runtime)
    with pytest.raises(UpstreamError):
        client.invoke_url("/me", connection=LINK)
    deadline = time.monotonic() + 5
    while _issued(provider) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _issued(provider) == 1  # the provider rotated the token the answer was to carry
    provider.state.token_answer_delay = 0.0
    return client, sent


def _stored_refresh_token(runtime: Runtime) -> str:
    with runtime.unit(write=False) as unit:
        (account_id,) = unit.conn.execute(select(accounts.c.id)).one()
        credential = unit.accounts.get(account_id).credential
    return str(credential["refresh_token"])


def _journal(runtime: Runtime) -> list[Any]:
    with runtime.unit(write=False) as unit:
        return list(unit.conn.execute(select(refresh_attempts)).all())


def test_a_refresh_whose_answer_was_lost_is_journaled_sealed(
    slow_provider: ProviderServer, real_time: Runtime
) -> None:
    client, sent = _lose_one_answer(real_time, slow_provider)
    client.close()
    (row,) = _journal(real_time)
    assert row.refresh_token_sealed.startswith(PREFIX + ".")
    assert sent not in row.refresh_token_sealed
    assert _stored_refresh_token(real_time) == sent  # nothing stored: the answer never came


def test_after_a_lost_answer_the_old_refresh_token_is_accepted_within_the_grace(
    slow_provider: ProviderServer, real_time: Runtime
) -> None:
    client, sent = _lose_one_answer(real_time, slow_provider)
    try:
        assert client.invoke_url("/me", connection=LINK).status == 200
    finally:
        client.close()
    assert _status(real_time) is AuthorizationStatus.CONNECTED
    assert _stored_refresh_token(real_time) != sent
    assert _journal(real_time) == []


def test_after_a_lost_answer_without_grace_the_old_token_is_retried_once_then_expired(
    slow_provider: ProviderServer, real_time: Runtime
) -> None:
    slow_provider.state.refresh_reuse_grace = 0.0
    client, _ = _lose_one_answer(real_time, slow_provider)
    try:
        with pytest.raises(AuthorizationRequired):
            client.invoke_url("/me", connection=LINK)
    finally:
        client.close()
    refused = [
        call
        for call in slow_provider.state.calls_to("oauth2.token")
        if call.error == "invalid_grant"
    ]
    assert len(refused) == 2  # the old refresh token, and once more after a pause
    assert _status(real_time) is AuthorizationStatus.EXPIRED
    assert _journal(real_time) == []
