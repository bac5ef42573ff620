"""Issue 9 item 6: a URL that cannot be sent (a control character, a 100 kB query) is a 400
`invalid_url` naming the field and the rule -- never a 500, never the URL (its query may hold
a secret) -- and the failed invoke is in the audit log. Over REST, the proxy and the SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest

import plugboard
from plugboard import InvalidURL
from plugboard.client import LocalClient
from plugboard.domain.urls import MAX_URL_LENGTH
from plugboard.testing.provider_state import DEMO_API_KEY
from tests.integration.remote_support import key_connection, proxy_client, token
from tests.stack import Stack

CALLER_SECRET = "caller-secret-in-the-query-5f1e"
HUGE = "x" * 100_000

MALFORMED = {
    "tab": ({"url": f"/orders?token={CALLER_SECRET}\tmore"}, "control_characters"),
    "newline": ({"url": f"/orders\r\nX-Injected: {CALLER_SECRET}"}, "control_characters"),
    "huge url": ({"url": f"/orders?token={CALLER_SECRET}&q={HUGE}"}, "max_length"),
    "huge param": ({"url": "/orders", "params": {"q": HUGE, "token": CALLER_SECRET}}, "max_length"),
    "broken host": ({"url": f"https://[::1/orders?token={CALLER_SECRET}"}, "invalid"),
    "broken port": ({"url": f"https://api.example.net:99999/orders?t={CALLER_SECRET}"}, "invalid"),
}


def _failed_invokes(stack: Stack) -> list[Any]:
    with stack.runtime.unit(write=False) as unit:
        return [e for e in unit.audit.list(action="connection.invoke") if e.outcome == "failed"]


def _assert_no_secret(text: str) -> None:
    assert CALLER_SECRET not in text
    assert DEMO_API_KEY not in text
    assert HUGE[:1000] not in text


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_rest_invoke_of_a_malformed_url_is_400_and_audited(stack: Stack, case: str) -> None:
    link = key_connection(stack)
    request, rule = MALFORMED[case]

    answer = stack.api("dev").post("/invoke", json={"connection": link, **request})

    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert problem["type"].endswith("/invalid_url")
    assert (problem["field"], problem["rule"]) == ("url", rule)
    _assert_no_secret(answer.text)
    [event] = _failed_invokes(stack)
    assert event.detail["error"] == "invalid_url"
    assert event.detail["connection"] == link
    _assert_no_secret(json.dumps(event.detail))


def test_proxying_a_huge_query_is_400_and_audited(stack: Stack) -> None:
    link = key_connection(stack)
    query = f"token={CALLER_SECRET}&q=" + "x" * (MAX_URL_LENGTH + 10)

    answer = proxy_client(stack).get(f"/proxy/{link}/orders?{query}")

    assert answer.status_code == 400, answer.text
    assert answer.json()["type"].endswith("/invalid_url")
    assert answer.json()["rule"] == "max_length"
    _assert_no_secret(answer.text)
    [event] = _failed_invokes(stack)
    assert event.detail["error"] == "invalid_url"
    _assert_no_secret(json.dumps(event.detail))


def test_a_base_url_header_with_a_control_character_is_400(stack: Stack) -> None:
    link = key_connection(stack)
    base = f"{stack.provider.base_url}/api/apikey\tx"

    answer = proxy_client(stack).get(
        f"/proxy/{link}/orders", headers={"X-Plugboard-Base-Url": base}
    )

    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert problem["type"].endswith("/invalid_url")
    assert (problem["field"], problem["rule"]) == ("X-Plugboard-Base-Url", "control_characters")


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_sdk_code_gets_invalid_url_locally_and_remotely_alike(stack: Stack, case: str) -> None:
    link = key_connection(stack)
    request, rule = MALFORMED[case]
    raised = []
    local = LocalClient(stack.runtime, principal=stack.members("dev"))
    remote = plugboard.connect(stack.base_url, token=token(stack, "dev"))
    for pb in (local, remote):
        with pb, pytest.raises(InvalidURL) as caught:
            pb.invoke_url(request["url"], connection=link, params=request.get("params"))
        raised.append(caught.value)

    here, there = raised
    assert here.to_dict() == there.to_dict()
    assert (here.field, here.rule) == ("url", rule)
    _assert_no_secret(str(here) + str(there))
    assert len(_failed_invokes(stack)) == 2


def test_a_long_but_acceptable_url_is_sent(stack: Stack) -> None:
    link = key_connection(stack)
    answer = stack.api("dev").post(
        "/invoke", json={"connection": link, "url": "/orders", "params": {"q": "x" * 4000}}
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text
