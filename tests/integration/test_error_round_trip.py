"""Every Plugboard error crosses the REST API whole: the server's problem+json carries each of
its fields and the remote client rebuilds the same class with the same fields and message."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from fastapi import FastAPI

from plugboard import errors
from plugboard.client.remote import error_from_problem
from plugboard.server.errors import install_problem_handlers
from plugboard.threaded_server import ThreadedServer
from tests.integration.remote_support import token
from tests.stack import Stack

SAMPLES: dict[type[errors.PlugboardError], errors.PlugboardError] = {
    errors.PlugboardError: errors.PlugboardError("something went wrong"),
    errors.ConfigurationError: errors.ConfigurationError("PLUGBOARD_PORT: not a number"),
    errors.MasterKeyMissing: errors.MasterKeyMissing("no master key"),
    errors.CryptoError: errors.CryptoError("cannot seal"),
    errors.DecryptionFailed: errors.DecryptionFailed("sealed with key 'k9'"),
    errors.StoreError: errors.StoreError("the store failed"),
    errors.StoreUnavailable: errors.StoreUnavailable("database unreachable"),
    errors.StoreNotInitialized: errors.StoreNotInitialized("run plugboard init"),
    errors.ValidationError: errors.ValidationError("scopes[1]", "must be one of the service's"),
    errors.InvalidURL: errors.InvalidURL("url", "must not hold control characters"),
    errors.NotFound: errors.NotFound("connection", "crm_sync"),
    errors.AlreadyExists: errors.AlreadyExists("connection", "link_name", "crm_sync"),
    errors.Conflict: errors.Conflict("still referenced", {"references": [{"app": "crm"}]}),
    errors.AuthenticationFailed: errors.AuthenticationFailed("bad or revoked token"),
    errors.PermissionDenied: errors.PermissionDenied("manage connections", "user"),
    errors.RateLimited: errors.RateLimited("too many failed logins", retry_after=8),
    errors.AuthorizationRequired: errors.AuthorizationRequired(
        "crm_sync", "production", "a super admin must authorize it", reason="expired"
    ),
    errors.ServerUnreachable: errors.ServerUnreachable("no answer from the server"),
    errors.OutboundError: errors.OutboundError("outbound failed"),
    errors.OutboundBlocked: errors.OutboundBlocked("10.0.0.1 is a private address"),
    errors.UpstreamError: errors.UpstreamError("the service answered garbage"),
}


def _every_error_class() -> set[type[errors.PlugboardError]]:
    return {
        cls
        for name in errors.__all__
        if isinstance(cls := getattr(errors, name), type) and issubclass(cls, errors.PlugboardError)
    }


@pytest.fixture(scope="module")
def raising_server() -> Iterator[str]:
    app = FastAPI()
    install_problem_handlers(app)
    by_code = {cls.code: sample for cls, sample in SAMPLES.items()}

    @app.get("/raise/{code}")
    def _raise(code: str) -> None:
        raise by_code[code]

    with ThreadedServer(app, name="raising app") as server:
        yield server.base_url


def test_every_error_class_has_a_sample() -> None:
    assert set(SAMPLES) == _every_error_class()
    assert all(type(sample) is cls for cls, sample in SAMPLES.items())


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda cls: cls.__name__)
def test_an_error_round_trips_through_the_rest_api(
    raising_server: str, cls: type[errors.PlugboardError]
) -> None:
    sent = SAMPLES[cls]
    response = httpx2.get(f"{raising_server}/raise/{cls.code}", timeout=10)
    assert response.headers["content-type"] == "application/problem+json"
    received = error_from_problem(response.status_code, response.json())
    assert type(received) is cls
    assert received.message == sent.message
    assert received.to_dict() == sent.to_dict()
    for name in cls.detail_fields:
        assert getattr(received, name) == getattr(sent, name)


def test_a_real_not_found_arrives_with_its_kind_and_key(stack: Stack) -> None:
    import plugboard

    with plugboard.connect(stack.base_url, token=token(stack, "dev")) as remote:
        with pytest.raises(errors.NotFound) as raised:
            remote.connections.get("no_such_connection")
    assert (raised.value.kind, raised.value.key) == ("connection", "no_such_connection")


def test_an_unknown_path_is_the_not_found_of_that_path(stack: Stack) -> None:
    response = httpx2.get(f"{stack.base_url}/api/v1/nothing-here", timeout=10)
    received = error_from_problem(response.status_code, response.json())
    assert isinstance(received, errors.NotFound)
    assert (received.kind, received.key) == ("path", "/api/v1/nothing-here")
