"""Issue 9 item 5: credential values are checked when entered. A key or password with a control
character or surrounding whitespace is refused with an error naming the field and the rule --
never the value -- and nothing is stored; a credential stored before the check (legacy) asks
for a new authorization at invoke instead of failing in the HTTP layer."""

from __future__ import annotations

import textwrap

import pytest

from plugboard.domain.credentials import ApiKeyCredential, credential_to_data
from plugboard.testing.provider_state import (
    DEMO_API_KEY,
    DEMO_AWS_ACCESS_KEY,
    DEMO_AWS_SECRET_KEY,
    DEMO_BASIC_PASSWORD,
    DEMO_BASIC_USER,
)
from plugboard.usecases.connections import create_connection
from plugboard.usecases.services import create_custom_service
from tests.stack import Stack
from tests.support import snapshot

SECRET = "typed-secret-9c41"


def _connection(stack: Stack, kind: str) -> str:
    p = stack.provider.base_url
    blocks = {
        "api_key": f"""
            base_url: {p}/api/apikey
            auth_type: api_key
            api_key:
              parameters:
                - {{param_type: header, name: X-Api-Key, display_name: API key}}""",
        "basic": f"""
            base_url: {p}/api/basic
            auth_type: basic""",
        "aws_sigv4": f"""
            base_url: {p}/api/aws
            auth_type: aws_sigv4
            aws_sigv4: {{aws_service: sqs, region: eu-west-1}}""",
    }
    service = f"name: Provider {kind}\nlink_name: p_{kind}\n" + textwrap.dedent(blocks[kind])
    # The scene, through the usecases (the REST API under test is the credential entry).
    dev = stack.members("dev")
    hosts = stack.runtime.settings.allow_http_host_entries
    with stack.runtime.unit() as unit:
        create_custom_service(unit, dev, service, http_hosts=hosts)
        create_connection(unit, dev, service=f"p_{kind}", link_name=f"c_{kind}")
    return f"c_{kind}"


GOOD = {
    "api_key": {"API key": DEMO_API_KEY},
    "basic": {"username": DEMO_BASIC_USER, "password": DEMO_BASIC_PASSWORD},
    "aws_sigv4": {"access_key": DEMO_AWS_ACCESS_KEY, "secret_key": DEMO_AWS_SECRET_KEY},
}
# (kind, the typed field, the field the error names)
FIELDS = [
    ("api_key", "API key", "credential.api_key.X-Api-Key"),
    ("basic", "username", "credential.username"),
    ("basic", "password", "credential.password"),
    ("aws_sigv4", "access_key", "credential.access_key"),
    ("aws_sigv4", "secret_key", "credential.secret_key"),
    ("aws_sigv4", "session_token", "credential.session_token"),
]
BAD_VALUES = {
    "newline": (f"{SECRET}\nX-Injected: 1", "control_characters"),
    "tab": (f"{SECRET}\tmore", "control_characters"),
    "nul": (f"{SECRET}\x00", "control_characters"),
    "leading space": (f" {SECRET}", "surrounding_whitespace"),
    "trailing newline": (f"{SECRET}\n", "control_characters"),
    "trailing space": (f"{SECRET} ", "surrounding_whitespace"),
}


@pytest.mark.parametrize(("kind", "typed", "field"), FIELDS, ids=[f[2] for f in FIELDS])
@pytest.mark.parametrize("bad", list(BAD_VALUES), ids=list(BAD_VALUES))
def test_a_value_that_cannot_be_sent_is_refused_naming_the_field(
    stack: Stack, kind: str, typed: str, field: str, bad: str
) -> None:
    link = _connection(stack, kind)
    value, rule = BAD_VALUES[bad]
    api = stack.api("dev")
    assert api.get("/me").status_code == 200  # the token's first use is noted now, not later
    before = snapshot(stack.runtime.database)

    refused = api.post(
        f"/connections/{link}/credentials",
        json={"values": {**GOOD[kind], typed: value}, "test": False},
    )

    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert (problem["field"], problem["rule"]) == (field, rule)
    assert SECRET not in refused.text
    assert snapshot(stack.runtime.database) == before


def test_a_header_api_key_must_be_ascii(stack: Stack) -> None:
    link = _connection(stack, "api_key")
    api = stack.api("dev")
    assert api.get("/me").status_code == 200
    before = snapshot(stack.runtime.database)
    refused = api.post(
        f"/connections/{link}/credentials", json={"values": {"API key": f"{SECRET}é"}}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["rule"] == "ascii"
    assert SECRET not in refused.text
    assert snapshot(stack.runtime.database) == before


def test_inner_spaces_are_kept(stack: Stack) -> None:
    link = _connection(stack, "basic")
    entered = stack.api("dev").post(
        f"/connections/{link}/credentials",
        json={"values": {"username": "ann", "password": "correct horse battery"}, "test": False},
    )
    assert entered.status_code == 201, entered.text


def test_a_legacy_unsendable_credential_asks_to_authorize_again(stack: Stack) -> None:
    link = _connection(stack, "api_key")
    with stack.runtime.unit() as unit:  # stored as it was before values were checked
        ws = unit.workspaces.get("acme")
        conn = unit.connections.get(ws.id, link)
        account = unit.accounts.create(
            workspace_id=ws.id, connection_id=conn.id, owner_user_id=None, display_name="Old",
            credential=credential_to_data(ApiKeyCredential({"X-Api-Key": f"{SECRET}\r\nX: 1"})),
            token_expires_at=None, created_by=None, now=unit.now(),
        )  # fmt: skip
        unit.accounts.put_authorization(
            workspace_id=ws.id, connection_id=conn.id, environment="all", owner_user_id=None,
            account_id=account.id, authorized_by=None, now=unit.now(), is_primary=False,
        )  # fmt: skip

    answer = stack.api("dev").post("/invoke", json={"connection": link, "url": "/orders"})

    assert answer.status_code == 424, answer.text
    assert "authorize again" in answer.json()["detail"]
    assert "credential.api_key.X-Api-Key" in answer.json()["detail"]
    assert SECRET not in answer.text
    assert not stack.provider.state.hits  # nothing was sent
