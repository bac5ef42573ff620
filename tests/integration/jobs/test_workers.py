"""`plugboard worker` processes (SPEC §12): on PostgreSQL two procrastinate workers share the
jobs -- an invalid_grant is mailed once to each person, not once per worker --, and on both
backends a worker killed with SIGKILL in the middle of a job leaves that job to run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from sqlalchemy import text

from plugboard.crypto.keyring import Keyring, format_key
from plugboard.domain.clock import SystemClock
from plugboard.domain.models import AuthorizationStatus
from plugboard.store.database import Database
from plugboard.testing.server import ProviderServer
from plugboard.usecases.runtime import Runtime
from tests.conftest import create_pg_database, drop_pg_database
from tests.integration.jobs.support import OAuthWorld, SmtpServer

EXPECTED = {"root@acme.test", "dev@acme.test", "dev2@acme.test"}


def _wait_for(
    check: Callable[[], bool], seconds: float = 30.0, workers: Workers | None = None
) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            logs = workers.output()[-4000:] if workers else ""
            pytest.fail(f"timed out waiting for the workers\n{logs}")
        time.sleep(0.1)


class Workers:
    """`plugboard worker` subprocesses on one database."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.files: list[BinaryIO] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
        self.files.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "plugboard.cli", "worker", "--name", f"w{len(self.procs)}"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.files:
            log.close()

    def output(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.logs.glob("worker-*.log")))


@pytest.fixture(params=["postgresql", "sqlite"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, keyring: Keyring, provider: ProviderServer
) -> Iterator[tuple[Runtime, Workers]]:
    """A database of its own (migrated), a runtime on it, and workers configured for it."""
    if request.param == "postgresql":
        url = create_pg_database("plugboard_jobs")
    else:
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    database = Database(url)
    database.upgrade()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")},
        "PLUGBOARD_HOME": str(tmp_path / "home"),
        "PLUGBOARD_DATABASE_URL": database.url,
        "PLUGBOARD_MASTER_KEYS": ",".join(format_key(k) for k in keyring.keys),
        "PLUGBOARD_JOBS_TICK_SECONDS": "1",
        "PLUGBOARD_JOB_LEASE_SECONDS": "1.5",
        "PLUGBOARD_WORKER_STALLED_SECONDS": "2",
        "PLUGBOARD_TOKEN_REQUEST_TIMEOUT_SECONDS": "2",
        "PLUGBOARD_REFRESH_LOCK_TIMEOUT_SECONDS": "5",
        "PLUGBOARD_ALLOW_HTTP_HOSTS": "127.0.0.1",
        "PLUGBOARD_OUTBOUND_ALLOWLIST": "127.0.0.1",
    }
    from plugboard.settings import Settings

    settings = Settings(
        home=tmp_path / "home", database_url=database.url, allow_http_hosts="127.0.0.1",
        outbound_allowlist="127.0.0.1",
    )  # fmt: skip
    from plugboard.crypto.sealing import Sealer

    runtime = Runtime(settings, database, Sealer(keyring), SystemClock())
    workers = Workers(env, tmp_path)
    try:
        yield runtime, workers
    finally:
        workers.stop_all()
        database.dispose()
        if request.param == "postgresql":
            drop_pg_database(url)


def _seed(runtime: Runtime, provider: ProviderServer) -> OAuthWorld:
    from plugboard.domain.models import Role, WorkspaceKind
    from plugboard.domain.principal import OPERATOR
    from plugboard.usecases import identity

    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "acme", WorkspaceKind.DEVELOPER)
        for name, role in (
            ("root", Role.SUPER_ADMIN),
            ("admin", Role.ADMIN),
            ("dev", Role.DEVELOPER),
            ("dev2", Role.DEVELOPER),
            ("user", Role.USER),
        ):
            identity.add_user(unit, OPERATOR, email=f"{name}@acme.test", role=role,
                              workspace="acme")  # fmt: skip
    world = OAuthWorld(runtime, provider)
    world.service()
    return world


@pytest.mark.slow
def test_two_workers_mail_each_person_once(
    backend: tuple[Runtime, Workers], provider: ProviderServer, smtp: SmtpServer
) -> None:
    runtime, workers = backend
    if runtime.database.backend != "postgresql":
        pytest.skip("two procrastinate workers: PostgreSQL (SQLite runs inside serve)")
    workers.env["PLUGBOARD_SMTP_URL"] = smtp.url
    world = _seed(runtime, provider)
    world.connection("crm")
    world.authorize("crm", expires_in=120)
    provider.state.reject_refresh = True
    workers.start()
    workers.start()
    _wait_for(lambda: len(smtp.inbox.envelopes) >= len(EXPECTED))
    time.sleep(2.5)  # more ticks on both workers: nothing more is sent
    recipients = sorted(r for _, rcpts in smtp.inbox.envelopes for r in rcpts)
    assert recipients == sorted(EXPECTED)
    _, found = world.stored("crm")
    assert found.authorization.status is AuthorizationStatus.EXPIRED
    assert provider.state.token_calls("refresh_token") == 1


@pytest.mark.slow
def test_a_worker_killed_mid_job_leaves_the_job_to_run_again(
    backend: tuple[Runtime, Workers], provider: ProviderServer
) -> None:
    runtime, workers = backend
    world = _seed(runtime, provider)
    world.connection("crm")
    world.authorize("crm", expires_in=120)
    provider.state.token_endpoint_delay = 30.0  # the refresh hangs: the worker is mid-job
    victim = workers.start()
    _wait_for(lambda: _sending_a_refresh(runtime))  # journaled, then sent: now it waits
    time.sleep(0.3)
    running = _running_refresh_job(runtime)
    assert running is not None
    victim.send_signal(signal.SIGKILL)
    victim.wait(5)
    provider.state.token_endpoint_delay = 0.0
    workers.start()

    def refreshed() -> bool:
        credential, found = world.stored("crm")
        return found.account.refreshed_at is not None

    _wait_for(refreshed, workers=workers)
    _wait_for(lambda: _job_done(runtime, running), workers=workers)
    _, found = world.stored("crm")
    assert found.authorization.status is AuthorizationStatus.CONNECTED


def _sending_a_refresh(runtime: Runtime) -> bool:
    with runtime.database.engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM refresh_attempts")).scalar_one())


def _running_refresh_job(runtime: Runtime) -> str | None:
    with runtime.database.engine.connect() as conn:
        if runtime.database.backend == "postgresql":
            row = conn.execute(text(
                "SELECT id FROM procrastinate_jobs WHERE task_name = 'refresh_tokens' "
                "AND status = 'doing'"
            )).first()  # fmt: skip
        else:
            row = conn.execute(text(
                "SELECT id FROM job_runs WHERE task = 'refresh_tokens' AND status = 'running'"
            )).first()  # fmt: skip
    return str(row[0]) if row else None


def _job_done(runtime: Runtime, job_id: str) -> bool:
    """The interrupted job itself ran again, to success."""
    with runtime.database.engine.connect() as conn:
        if runtime.database.backend == "postgresql":
            row = conn.execute(
                text("SELECT status::text, attempts FROM procrastinate_jobs WHERE id = :id"),
                {"id": int(job_id)},
            ).first()
            return row is not None and row[0] == "succeeded"
        row = conn.execute(
            text("SELECT status, attempts FROM job_runs WHERE id = :id"), {"id": job_id}
        ).first()
        return row is not None and row[0] == "succeeded" and row[1] == 2
