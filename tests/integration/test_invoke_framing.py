"""A request's framing is Plugboard's: a caller cannot make the body it sends be read by the
upstream as a second request on a kept-alive connection that other callers share."""

# ruff: noqa: F811 -- the `upstream` fixture imported from remote_support is a pytest parameter
from __future__ import annotations

import pytest

from tests.integration.remote_support import (  # noqa: F401
    Upstream,
    key_connection,
    proxy_client,
    upstream,
)
from tests.stack import Stack

SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    "framing", [{"Content-Length": "0"}, {"Transfer-Encoding": "chunked"}, {"Host": "other"}]
)
def test_invoke_refuses_a_framing_header_of_the_caller_and_sends_nothing(
    stack: Stack, upstream: Upstream, framing: dict[str, str]
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    answer = stack.api("dev").post(
        "/invoke",
        json={"connection": link, "url": f"{upstream.base_url}/first", "method": "POST",
              "headers": {"X-Fine": "1", **framing}, "text": SMUGGLED},
    )  # fmt: skip
    assert answer.status_code == 422, answer.text  # the API's validation status
    problem = answer.json()
    assert (problem["field"], problem["rule"]) == ("headers[1]", "framing_header")
    assert upstream.headers == []


def test_a_post_without_a_body_through_the_proxy_says_its_length_is_zero(
    stack: Stack, upstream: Upstream
) -> None:
    link = key_connection(stack, hosts=[upstream.base_url])
    answer = proxy_client(stack).post(
        f"/proxy/{link}/empty", headers={"X-Plugboard-Base-Url": upstream.base_url}
    )
    assert answer.status_code == 200, answer.text
    assert ("content-length", "0") in upstream.headers[0]


def test_invoke_refuses_a_header_name_ending_in_a_newline_and_sends_nothing(
    stack: Stack, upstream: Upstream
) -> None:
    # A pattern anchored with `$` matches before a final newline: the name must be a token to
    # its last character.
    link = key_connection(stack, hosts=[upstream.base_url])
    answer = stack.api("dev").post(
        "/invoke",
        json={"connection": link, "url": f"{upstream.base_url}/first",
              "headers": {"X-Fine": "1", "X-Injected\n": "1"}},
    )  # fmt: skip
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert (problem["field"], problem["rule"]) == ("headers[1]", "header_name")
    assert upstream.headers == []
