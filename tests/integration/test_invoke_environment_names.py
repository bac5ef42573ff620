"""An invoke naming an environment that does not exist is a validation error naming the field,
whatever the name holds -- a NUL included, which PostgreSQL refuses in a text parameter."""

from __future__ import annotations

import pytest

from tests.integration.remote_support import key_connection
from tests.stack import Stack


@pytest.mark.parametrize("environment", ["bogus", "x" * 40, "development\x00"])
def test_an_unknown_environment_is_refused_naming_the_field(stack: Stack, environment: str) -> None:
    link = key_connection(stack)
    answer = stack.api("dev").post(
        "/invoke", json={"connection": link, "url": "/orders", "environment": environment}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "environment"
