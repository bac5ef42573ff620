"""Entering API key, Basic and AWS credentials (SPEC §5): checked by the service's test call
against the provider on 127.0.0.1 before anything is stored."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from plugboard.errors import ValidationError
from plugboard.testing.provider_state import (
    DEMO_API_KEY,
    DEMO_AWS_ACCESS_KEY,
    DEMO_AWS_SECRET_KEY,
    DEMO_BASIC_PASSWORD,
    DEMO_BASIC_USER,
)
from plugboard.usecases.credentials_entry import enter_credential
from tests.stack import Stack
from tests.support import snapshot


def _service(stack: Stack, kind: str) -> str:
    p = stack.provider.base_url
    blocks = {
        "api_key": f"""
            auth_type: api_key
            api_key:
              parameters:
                - {{param_type: header, name: X-Api-Key, display_name: API key}}
            test_url: {p}/api/apikey/me""",
        "basic": f"""
            auth_type: basic
            test_url: {p}/api/basic/me""",
        "aws_sigv4": f"""
            auth_type: aws_sigv4
            aws_sigv4: {{aws_service: sqs, region: eu-west-1}}
            test_url: {p}/api/aws/me""",
    }
    head = f"name: Provider {kind}\nlink_name: p_{kind}\nbase_url: {p}/api\n"
    return head + textwrap.dedent(blocks[kind])


GOOD = {
    "api_key": {"API key": DEMO_API_KEY},
    "basic": {"username": DEMO_BASIC_USER, "password": DEMO_BASIC_PASSWORD},
    "aws_sigv4": {"access_key": DEMO_AWS_ACCESS_KEY, "secret_key": DEMO_AWS_SECRET_KEY},
}
BAD = {
    "api_key": {"API key": "wrong-key"},
    "basic": {"username": DEMO_BASIC_USER, "password": "wrong-password"},
    "aws_sigv4": {"access_key": DEMO_AWS_ACCESS_KEY, "secret_key": "wrong/secret"},
}


def _connection(stack: Stack, kind: str) -> str:
    # The provider insists on the scope the service declares, as AWS does.
    stack.provider.state.aws_region, stack.provider.state.aws_service = "eu-west-1", "sqs"
    api = stack.api("dev")
    created = api.post("/services", json=yaml.safe_load(_service(stack, kind)))
    assert created.status_code == 201, created.text
    made = api.post("/connections", json={"service": f"p_{kind}", "link_name": f"c_{kind}"})
    assert made.status_code == 201, made.text
    return f"c_{kind}"


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_a_credential_that_passes_the_services_test_call_is_stored(stack: Stack, kind: str) -> None:
    link = _connection(stack, kind)
    [summary] = enter_credential(
        stack.runtime, stack.members("dev"), connection=link, values=GOOD[kind]
    )
    assert summary.status.value == "connected"
    assert stack.provider.state.hits  # the test call reached the provider


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_credential_the_service_refuses_is_not_stored(stack: Stack, kind: str) -> None:
    """Nothing is stored but the failed status (SPEC §5), which holds no secret."""
    link = _connection(stack, kind)
    before = snapshot(stack.runtime.database)
    with pytest.raises(ValidationError) as raised:
        enter_credential(stack.runtime, stack.members("dev"), connection=link, values=BAD[kind])
    assert "the service refused it" in str(raised.value)
    after = snapshot(stack.runtime.database)
    assert after["accounts"] == before["accounts"] == []
    [row] = after["authorizations"]
    assert "failed" in row
    for secret in BAD[kind].values():
        assert secret not in str(raised.value)
        assert secret not in str(after)


def test_a_credential_is_never_stored_in_plaintext(stack: Stack) -> None:
    link = _connection(stack, "basic")
    enter_credential(stack.runtime, stack.members("dev"), connection=link, values=GOOD["basic"])
    assert DEMO_BASIC_PASSWORD not in str(snapshot(stack.runtime.database))


def test_a_missing_field_is_named(stack: Stack) -> None:
    link = _connection(stack, "basic")
    with pytest.raises(ValidationError) as raised:
        enter_credential(
            stack.runtime, stack.members("dev"), connection=link, values={"username": "x"}
        )
    assert raised.value.field == "credential.password"
