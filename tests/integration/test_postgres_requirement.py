"""`make test` runs the PostgreSQL half when a server answers, says so when it skips it, and
fails instead of skipping under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEAD_SERVER = "postgresql+psycopg://postgres@127.0.0.1:1/postgres"


# Plugins the run below has no use for: importing them (hypothesis, schemathesis) was about a
# third of its start-up. The suite's own conftest, which decides skip or fail, loads as always.
UNUSED_PLUGINS = ("cacheprovider", "schemathesis", "hypothesispytest", "xdist")


def _run_migration_tests(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PLUGBOARD_TEST_POSTGRES_URL"] = DEAD_SERVER
    if ci:
        env["CI"] = "true"
    no_plugins = [arg for name in UNUSED_PLUGINS for arg in ("-p", f"no:{name}")]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *no_plugins,
         "tests/integration/test_migrations.py", "-k", "upgrade_from_empty"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_without_a_server_the_postgresql_half_is_skipped_and_said_so() -> None:
    result = _run_migration_tests(ci=False)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout
    assert "PostgreSQL suite SKIPPED: no PostgreSQL server at" in result.stdout


def test_under_ci_a_missing_server_fails_the_run() -> None:
    result = _run_migration_tests(ci=True)
    assert result.returncode != 0
    assert "CI=true and no PostgreSQL server at" in result.stdout
    assert "PostgreSQL suite FAILED (CI=true requires it)" in result.stdout
