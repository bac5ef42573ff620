"""The embedded client converts an upstream answer as InvokeResponse.from_httpx does, without
parsing a Content-Type that names no charset (issue 14: that parse was ~10 us an invoke)."""

from __future__ import annotations

import httpx2
import pytest

from plugboard.client.local import _invoke_response
from plugboard.client.protocol import InvokeResponse


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "text/plain; charset=iso-8859-1",
        'text/html; Charset="UTF-16"',
        "text/plain; charset=no-such-encoding",
    ],
)
def test_the_conversion_matches_from_httpx(content_type: str | None) -> None:
    body = "caf\u00e9".encode("iso-8859-1" if content_type and "8859" in content_type else "utf-8")
    headers = {"content-type": content_type} if content_type else {}

    def answer() -> httpx2.Response:
        request = httpx2.Request("GET", "https://api.example.com/v1/x?api_key=secret")
        return httpx2.Response(200, headers=headers, content=body, request=request)

    ours, theirs = _invoke_response(answer()), InvokeResponse.from_httpx(answer())
    assert ours == theirs
    assert ours.url == "https://api.example.com/v1/x"  # the query (a credential) is dropped
    assert ours.text == theirs.text


def test_a_charset_is_honoured() -> None:
    request = httpx2.Request("GET", "https://api.example.com/")
    response = httpx2.Response(
        200,
        headers={"content-type": "text/plain; charset=iso-8859-1"},
        content="caf\u00e9".encode("iso-8859-1"),
        request=request,
    )
    converted = _invoke_response(response)
    assert converted.encoding == "iso-8859-1"
    assert converted.text == "caf\u00e9"
