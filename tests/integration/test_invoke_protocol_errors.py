"""Issue 9 item 5: no exception text that can hold a header value reaches a response, a log line
or the audit log. A provider that answers with a malformed response quoting the request's API
key (h11 quotes the bad line in its error) is a 502 that names the failure's type only; a
caller-supplied header that cannot be sent is a 422 naming `headers[i]`, not the value."""

from __future__ import annotations

import json
import logging
import socket
import textwrap
import threading
from collections.abc import Iterator

import pytest
import yaml

import plugboard
from plugboard import UpstreamError, ValidationError
from plugboard.client import LocalClient
from tests.integration.remote_support import token
from tests.stack import Stack

KEY = "the-connections-key-77af"
CALLER_SECRET = "caller-header-secret-31d0"

# Each answer quotes the X-Api-Key the request carried in a line h11 refuses.
ANSWERS = {
    "header line without a colon": "HTTP/1.1 200 OK\r\nX-Echo {key}\r\nContent-Length: 0\r\n\r\n",
    "NUL in a header value": "HTTP/1.1 200 OK\r\nX-Echo: {key}\x00\r\nContent-Length: 0\r\n\r\n",
    "bad status line": "HTTP/1.1 2x0 {key}\r\n\r\n",
}


class _Reflector:
    """A raw HTTP/1.1 server on 127.0.0.1 that answers every request with `answer`."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.requests = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                request = conn.recv(65536).decode("latin-1")
                self.requests += 1
                key = next(
                    (
                        line.split(":", 1)[1].strip()
                        for line in request.split("\r\n")
                        if line.lower().startswith("x-api-key:")
                    ),
                    "",
                )
                conn.sendall(self.answer.format(key=key).encode("latin-1"))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


@pytest.fixture(params=list(ANSWERS), ids=list(ANSWERS))
def reflector(request: pytest.FixtureRequest) -> Iterator[_Reflector]:
    server = _Reflector(ANSWERS[request.param])
    yield server
    server.close()


def _connection(stack: Stack, base_url: str) -> str:
    service = textwrap.dedent(f"""
        name: Reflector
        link_name: reflector
        base_url: {base_url}
        auth_type: api_key
        api_key:
          parameters: [{{param_type: header, name: X-Api-Key, display_name: API key}}]
    """)
    api = stack.api("dev")
    assert api.post("/services", json=yaml.safe_load(service)).status_code == 201
    made = api.post("/connections", json={"service": "reflector", "link_name": "refl"})
    assert made.status_code == 201, made.text
    entered = api.post(
        "/connections/refl/credentials", json={"values": {"X-Api-Key": KEY}, "test": False}
    )
    assert entered.status_code == 201, entered.text
    return "refl"


def _audit_text(stack: Stack) -> str:
    with stack.runtime.unit(write=False) as unit:
        events = unit.audit.list(action="connection.invoke")
    return json.dumps([e.detail for e in events])


def test_a_malformed_answer_quoting_the_key_is_a_502_without_the_key(
    stack: Stack, reflector: _Reflector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    link = _connection(stack, reflector.base_url)

    answer = stack.api("dev").post("/invoke", json={"connection": link, "url": "/x"})
    proxied = stack.api("dev").get(f"{stack.base_url}/proxy/{link}/x")

    assert reflector.requests >= 2  # the key did reach the provider, which quoted it back
    assert answer.status_code == proxied.status_code == 502, answer.text
    assert "RemoteProtocolError" in answer.json()["detail"]
    for text in (answer.text, proxied.text, caplog.text, _audit_text(stack)):
        assert KEY not in text
    assert "upstream_error" in _audit_text(stack)


def test_sdk_code_gets_an_upstream_error_without_the_key(
    stack: Stack, reflector: _Reflector
) -> None:
    link = _connection(stack, reflector.base_url)
    local = LocalClient(stack.runtime, principal=stack.members("dev"))
    with local, pytest.raises(UpstreamError) as caught:
        local.invoke_url("/x", connection=link)
    assert KEY not in str(caught.value) and KEY not in repr(caught.value.to_dict())


BAD_HEADERS = {
    "newline in the value": ({"X-Ok": "1", "X-Note": f"{CALLER_SECRET}\r\nX-Injected: 1"}, 1),
    "NUL in the value": ({"X-Note": f"{CALLER_SECRET}\x00"}, 0),
    "non-ASCII value": ({"X-Note": f"{CALLER_SECRET}é"}, 0),
    "space in the name": ({"X Note": CALLER_SECRET}, 0),
}


@pytest.mark.parametrize("case", list(BAD_HEADERS), ids=list(BAD_HEADERS))
def test_a_caller_header_that_cannot_be_sent_is_refused_naming_its_index(
    stack: Stack, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = _Reflector("HTTP/1.1 204 No Content\r\n\r\n")
    try:
        link = _connection(stack, server.base_url)
        headers, index = BAD_HEADERS[case]
        answer = stack.api("dev").post(
            "/invoke", json={"connection": link, "url": "/x", "headers": headers}
        )
        with plugboard.connect(stack.base_url, token=token(stack, "dev")) as remote:
            with pytest.raises(ValidationError) as caught:
                remote.invoke_url("/x", connection=link, headers=headers)
    finally:
        server.close()
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == caught.value.field == f"headers[{index}]"
    assert server.requests == 0
    for text in (answer.text, str(caught.value), caplog.text, _audit_text(stack)):
        assert CALLER_SECRET not in text
