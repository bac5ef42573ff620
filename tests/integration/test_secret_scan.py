"""The suite-wide scan of API responses (tests/conftest.py) catches a stored secret."""

from __future__ import annotations

from starlette.testclient import TestClient

from plugboard.domain.principal import OPERATOR
from plugboard.server.app import create_app
from plugboard.usecases.identity import create_workspace
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.service_clients import set_service_client
from tests.conftest import _RESPONSES, _stored_secrets, find_leaks


def test_the_response_scan_finds_a_leaked_secret(runtime: Runtime) -> None:
    from plugboard.domain.models import WorkspaceKind

    with runtime.unit() as unit:
        create_workspace(unit, OPERATOR, "default", WorkspaceKind.DEVELOPER)
        set_service_client(
            unit, OPERATOR, service="github", client_id="cid", client_secret="leaky-secret-123"
        )
    app = create_app(runtime.settings, runtime=runtime)

    @app.get("/leak")
    def leak() -> dict[str, str]:  # a deliberately broken endpoint
        return {"oops": "leaky-secret-123"}

    start = len(_RESPONSES)
    with TestClient(app) as client:
        client.get("/leak")
    recorded = _RESPONSES[start:]
    del _RESPONSES[start:]  # keep the suite-wide check of this test clean

    assert find_leaks(recorded, _stored_secrets(runtime)) == ["/leak"]
