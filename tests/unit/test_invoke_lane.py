"""The proxy's pass-through lane (usecases/invoke_lane.py) writes the request head the httpx2
client would have sent for the same request, credential applied -- header for header."""

from __future__ import annotations

import httpx2
import pytest

from plugboard.auth.apikey import ApiKeyAuth, ApiKeyParameter, Placement
from plugboard.auth.outbound_policy import OutboundPolicy
from plugboard.auth.outbound_transport import async_guarded_client, wire_transport
from plugboard.auth.outbound_wire import head_of
from plugboard.usecases.invoke_lane import Lanes, lane_credential

pytestmark = pytest.mark.anyio

KEY = [ApiKeyParameter(Placement.HEADER, "X-Api-Key", "sekrit")]
CASES = [
    ("GET", "https://api.example.com/v1/items?x=1&y=a%20b", [], None),
    ("GET", "https://api.example.com:8443/a%2Fb/{c}?q=%7B", [("Accept", "text/csv")], None),
    ("POST", "https://api.example.com/v1", [("Content-Type", "application/json")], b'{"a": 1}'),
    ("POST", "https://api.example.com/v1", [], b""),
    ("DELETE", "https://api.example.com/v1/7", [], b""),
    ("PUT", "http://127.0.0.1:8080/x", [("user-agent", "caller/1"), ("X-Trace", "t")], b"x"),
    (
        "GET",
        "https://api.example.com/",
        [("x-api-key", "the caller's own"), ("accept-encoding", "identity")],
        None,
    ),  # fmt: skip
]


def _lines(head: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    first, *rest = head.rstrip(b"\r\n").split(b"\r\n")
    headers = [tuple(line.split(b": ", 1)) for line in rest]
    return first, sorted((n.lower(), v) for n, v in headers)  # type: ignore[misc]


@pytest.mark.parametrize(("method", "url", "headers", "content"), CASES)
async def test_the_lane_sends_the_head_the_client_would(
    method: str, url: str, headers: list[tuple[str, str]], content: bytes | None
) -> None:
    auth = ApiKeyAuth(KEY)
    client = async_guarded_client(OutboundPolicy(), timeout=5)
    try:
        wire = wire_transport(client)
        assert wire is not None
        lanes = Lanes(wire, client.headers)
        credential = lane_credential(auth, content)
        assert credential is not None
        lane_head = lanes.head(method, lanes.target(url), headers, credential, content)
        request = auth.apply(client.build_request(method, url, headers=headers, content=content))
        assert _lines(lane_head) == _lines(head_of(request))
        assert lane_head.startswith(f"{method} ".encode())
        assert lane_head.split(b"\r\n")[1].startswith(b"Host: ")  # Host first, as httpx2 puts it
    finally:
        await client.aclose()


async def test_a_value_with_a_line_break_is_refused_without_naming_it() -> None:
    client = async_guarded_client(OutboundPolicy(), timeout=5)
    try:
        wire = wire_transport(client)
        assert wire is not None
        lanes = Lanes(wire, client.headers)
        target = lanes.target("https://api.example.com/")
        with pytest.raises(httpx2.LocalProtocolError) as refused:
            lanes.head("GET", target, [], [("X-Api-Key", "sekrit\r\nX-Evil: 1")], None)
        assert "sekrit" not in str(refused.value)
    finally:
        await client.aclose()


def test_only_a_key_in_headers_with_a_body_in_memory_takes_the_lane() -> None:
    in_headers = ApiKeyAuth(KEY)
    in_query = ApiKeyAuth([ApiKeyParameter(Placement.QUERY, "key", "k")])

    async def stream() -> object:
        yield b"x"  # pragma: no cover

    assert lane_credential(in_headers, None) == [("X-Api-Key", "sekrit")]
    assert lane_credential(in_headers, b"body") == [("X-Api-Key", "sekrit")]
    assert lane_credential(in_headers, stream()) is None
    assert lane_credential(in_query, None) is None
    assert lane_credential(httpx2.BasicAuth("a", "b"), None) is None
