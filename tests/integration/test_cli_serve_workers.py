"""`plugboard serve --workers N`: N worker processes share the port on PostgreSQL; on the
embedded SQLite store (a single writer) more than one is refused, naming the option and why."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from plugboard.store.database import Database
from tests.conftest import create_pg_database, drop_pg_database
from tests.integration.test_cli import PLUGBOARD, _env, _free_port, here, plugboard


@pytest.fixture
def pg_home(tmp_path: Path) -> Iterator[tuple[Path, Database]]:
    url = create_pg_database("plugboard_workers")
    database = Database(url)
    yield tmp_path / "home", database
    database.dispose()
    drop_pg_database(url)


def _spawned_children(pid: int) -> list[str]:
    """The command lines of the processes `pid` spawned with multiprocessing (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            if "multiprocessing.spawn" in cmdline:
                found.append(cmdline)
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_two_workers_serve_one_port_on_postgresql(pg_home: tuple[Path, Database]) -> None:
    home, database = pg_home
    assert here(home, "init", database=database).returncode == 0  # the scene, in-process
    port = _free_port()
    process = subprocess.Popen(
        [*PLUGBOARD, "serve", "--port", str(port), "--workers", "2"],
        # Each worker reads its settings itself: this limit must reach both.
        env={**_env(home, database), "PLUGBOARD_MAX_REQUEST_HEADER_BYTES": "4096"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        answers: list[int] = []
        while time.monotonic() < deadline and len(answers) < 20:
            try:
                answers.append(httpx2.get(f"{base}/health", timeout=2).status_code)
            except httpx2.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                time.sleep(0.2)
        assert answers == [200] * 20
        assert len(_spawned_children(process.pid)) == 2
        big = {"X-Padding": "a" * 5000}
        refused = [httpx2.get(f"{base}/health", headers=big, timeout=5) for _ in range(6)]
        assert {r.status_code for r in refused} == {431}
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr:
            process.stderr.close()


def test_more_than_one_worker_is_refused_on_sqlite(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert here(home, "init").returncode == 0  # the scene, in-process
    result = plugboard(home, "serve", "--workers", "2")
    assert result.returncode == 1
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "--workers" in line and "must be 1" in line and "SQLite" in line
    assert "single writer" in line and "PostgreSQL" in line
