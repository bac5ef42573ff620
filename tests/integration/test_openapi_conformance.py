"""Issue 6: schemathesis generates requests for every operation of the OpenAPI schema (a bounded
number of examples each) and checks that none gets a 5xx and every answer matches the schema.

Driven through schemathesis's Python API (each operation's Hypothesis strategy) rather than its
pytest plugin, which does not support pytest 9 yet."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from plugboard.server.app import create_app
from plugboard.usecases import identity
from plugboard.usecases.connections import create_connection
from plugboard.usecases.runtime import Runtime
from tests.stack import Actor

EXAMPLES_PER_OPERATION = 6
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_every_operation_answers_within_its_schema(runtime: Runtime, members: Actor) -> None:
    with runtime.unit() as unit:
        create_connection(unit, members("dev"), service="stripe", link_name="payments")
        token = identity.create_token(unit, members("root"), name="schemathesis").secret
    schema = schemathesis.openapi.from_asgi(
        "/api/v1/openapi.json", create_app(runtime.settings, runtime=runtime)
    )
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()
