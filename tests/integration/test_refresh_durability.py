"""A rotated refresh token survives its process (SPEC §5 "Refresh"): a process invoking against a
slow rotating provider is killed (SIGKILL) at every point of a refresh, and the next refresh in
another process still works -- whenever the provider issued tokens to the dead process, its
answer is either stored or recovered (the attempt journal: wait for the lost request, then the
old refresh token once, which a provider with a reuse grace period accepts).

The provider refuses a refresh token while another request is refreshing with it, so a refresh
that does not know about the lost request (and sends the same token at once) loses the
authorization."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

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

# Imports Plugboard once and opens a client once (which checks the schema and imports what an
# invoke needs), closes it, then forks an invoker for each "fork" line it reads (so a round does
# not wait for an interpreter to start). Each invoker opens its own runtime (its own database
# connections; the schema was checked by the zygote), says "ready <pid>" and invokes until it is
# killed; every invoke refreshes (the provider's tokens live 1 s, less than the refresh skew).
ZYGOTE = """
import os, signal, sys
from plugboard.client.local import LocalClient
from plugboard.errors import AuthorizationRequired, UpstreamError
from plugboard.settings import Settings
from plugboard.usecases.runtime import Runtime

warm = Runtime.open(Settings())
LocalClient(warm).close()
warm.close()
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the killed invokers
print("zygote", flush=True)
for line in sys.stdin:
    if os.fork() == 0:
        runtime = Runtime.open(Settings(), require_current_schema=False)
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


class Watch:
    """What the test can see of the invoker's refresh: the provider's side (same process, read
    under its lock) and the journal in the shared database."""

    def __init__(self, provider: ProviderServer, runtime: Runtime) -> None:
        self.state = provider.state
        self.runtime = runtime
        self.issued_before = _issued(provider)
        self._provider = provider

    def at_provider(self) -> bool:
        """A refresh request is being handled: it has not been answered yet."""
        return any(n > 0 for n in self.state.refreshes_in_progress.values())

    def rotated(self) -> bool:
        """The refresh token of a request still being handled is already rotated: the provider
        issued new tokens and the answer carrying them has not been sent."""
        return any(
            n > 0 and token in self.state.refresh_tokens
            and not self.state.refresh_tokens[token].active
            for token, n in self.state.refreshes_in_progress.items()
        )  # fmt: skip

    def issued(self) -> bool:
        """The provider answered a refresh of the invoker with new tokens."""
        return _issued(self._provider) > self.issued_before

    def journaled(self) -> bool:
        """A refresh attempt is recorded (committed) and has no stored answer."""
        with self.runtime.unit(write=False) as unit:
            rows = unit.conn.execute(select(func.count()).select_from(refresh_attempts))
            return bool(rows.scalar_one())


@dataclass(frozen=True)
class KillPoint:
    name: str
    reached: Callable[[Watch], bool]


# The states of one refresh, in order (see the test's docstring for why these cover it).
KILL_POINTS = (
    KillPoint("starting", lambda w: True),
    KillPoint("journaled, nothing issued", lambda w: not w.issued() and w.journaled()),
    KillPoint("at the provider, not rotated", lambda w: w.at_provider() and not w.rotated()),
    KillPoint("rotated, answer not sent", lambda w: w.rotated()),
    KillPoint("answer leaving the provider", lambda w: w.issued() and not w.at_provider()),
    KillPoint("answer stored", lambda w: w.issued() and not w.at_provider() and not w.journaled()),
)


def _kill_at(point: KillPoint, watch: Watch, pid: int) -> None:
    """SIGKILL the invoker as soon as it reaches `point` (the check and the kill under the
    provider's lock); fails if it does not within 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with watch.state.lock:
            if point.reached(watch):
                _kill(pid)
                return
        time.sleep(0.002)
    _kill(pid)
    raise AssertionError(f"the invoker never reached the kill point {point.name!r}")


def test_killing_a_refreshing_process_never_loses_the_authorization(
    slow_provider: ProviderServer,
    real_time: Runtime,
    database: Database,
    keyring: Keyring,
    tmp_path: Path,
) -> None:
    """Each round forks an invoker, SIGKILLs it at one point of its refresh, then checks that a
    refresh in this process still works and the authorization stays connected.

    Why these six points cover every death (they replaced 20 rounds of kills after a random
    sleep, which reached the narrow states only by chance): one refresh of the invoker goes
    through these states, in this order, and a SIGKILL lands in exactly one of them. Each round
    kills in the next one, checked under the provider's lock at the instant of the kill (the
    provider can neither issue nor answer in between):

    1. starting: before or during phase 1 -- no journal, nothing sent; the stored token is the
       valid one;
    2. the attempt journaled (committed), nothing issued: the request is about to be sent or on
       its way, and may still reach the provider after the death;
    3. the request at the provider, its token not rotated yet: the provider rotates after the
       death, so the answer is lost (the survivor must wait for it, then send the old token
       once, accepted within the reuse grace);
    4. rotated, the answer not sent: tokens issued to a dead process, the answer lost;
    5. the answer leaving the provider: the invoker stores it and deletes the journal record in
       one transaction, so a kill here leaves either state 4's outcome or state 6's;
    6. the answer stored, the journal empty: nothing is lost.

    The provider waits 0.1 s before rotating and 0.1 s before answering, which keeps states 3
    and 4 open long enough to be seen; every invoke refreshes (the tokens live 1 s, less than
    the refresh skew), so the next state always comes."""
    _seed(real_time, slow_provider)
    survivor = LocalClient(real_time)
    zygote = _zygote(database, keyring, tmp_path / "home")
    issued_to_the_dead = 0
    pid: int | None = None
    try:
        for point in KILL_POINTS:
            watch = Watch(slow_provider, real_time)
            pid = _invoker(zygote)
            _kill_at(point, watch, pid)
            issued_to_the_dead += _issued(slow_provider) - watch.issued_before
            response = survivor.invoke_url("/me", connection=LINK)
            assert response.status == 200, f"killed {point.name}: {response.status}"
            assert _status(real_time) is AuthorizationStatus.CONNECTED, f"killed {point.name}"
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
