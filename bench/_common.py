"""Shared set-up for the benchmarks: a throw-away store with one workspace, like the tests."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from plugboard.crypto.keyring import Keyring, generate_key  # noqa: E402
from plugboard.crypto.sealing import Sealer  # noqa: E402
from plugboard.settings import Settings  # noqa: E402
from plugboard.store.database import Database  # noqa: E402
from plugboard.usecases.runtime import Runtime  # noqa: E402


def sqlite_runtime(**settings: Any) -> tuple[Runtime, Keyring, tempfile.TemporaryDirectory[str]]:
    home = tempfile.TemporaryDirectory()
    url = f"sqlite:///{home.name}/plugboard.db"
    return runtime_on(url, Path(home.name), **settings) + (home,)  # type: ignore[return-value]


def runtime_on(url: str, home: Path, **settings: Any) -> tuple[Runtime, Keyring]:
    database = Database(url)
    database.upgrade()
    keyring = Keyring(keys=(generate_key(),), source="bench")
    values = {"outbound_allowlist": "127.0.0.1", **settings}
    runtime = Runtime(
        settings=Settings(home=home, database_url=url, **values),
        database=database,
        sealer=Sealer(keyring),
    )
    return runtime, keyring


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
