from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from plugboard._version import __version__
from plugboard.server.app import create_app
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.usecases.runtime import Runtime


def test_health_reports_version_and_database_state(runtime: Runtime) -> None:
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["database"]["backend"] == runtime.database.backend
    assert body["database"]["revision"] == body["database"]["head"]


def test_health_is_503_when_the_schema_is_behind(runtime: Runtime, tmp_path: Path) -> None:
    behind = Runtime(
        settings=Settings(home=tmp_path),
        database=Database(f"sqlite:///{tmp_path / 'unmigrated.db'}"),
        sealer=runtime.sealer,
    )
    with TestClient(create_app(behind.settings, runtime=behind)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"]["revision"] is None
