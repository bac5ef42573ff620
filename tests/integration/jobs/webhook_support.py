"""A webhook receiver on 127.0.0.1 for the webhook tests, and the two ways it checks a message:
the ``standardwebhooks`` package, and an HMAC-SHA256 computed here with hashlib, hmac and
base64 from the Standard Webhooks specification (independent of the package)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from plugboard.domain.principal import Principal
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.webhook_delivery import run_webhooks


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class Receiver:
    """Answers each POST with the next status of ``script`` (200 once it runs out); with
    ``echo`` its body repeats the headers it got, as a careless receiver might."""

    script: list[int] = field(default_factory=list)
    echo: bool = False
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/plugboard"


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with receiver.lock:
                receiver.received.append(Received(self.path, headers, body))
                status = receiver.script.pop(0) if receiver.script else 200
            answer = (repr(headers) if receiver.echo else f"status {status}").encode()
            self.send_response(status)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def receiving(script: list[int] | None = None, *, echo: bool = False) -> Iterator[Receiver]:
    receiver = Receiver(script=list(script or []), echo=echo)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def hmac_signatures(secret: str, headers: Mapping[str, str], body: bytes) -> tuple[str, list[str]]:
    """(the signature this secret gives the message, the signatures the header carries),
    computed from the specification: base64(HMAC-SHA256(base64-decoded secret,
    "id.timestamp.body"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    carried = [
        part.split(",", 1)[1]
        for part in headers["webhook-signature"].split(" ")
        if part.startswith("v1,")
    ]
    return expected, carried


def verified_by_both(secret: str, message: Received) -> dict[str, Any]:
    """The payload, after the package and the independent computation both accept it."""
    payload = Webhook(secret).verify(message.body, message.headers)
    expected, carried = hmac_signatures(secret, message.headers, message.body)
    assert expected in carried
    assert isinstance(payload, dict)
    return payload


def tick(runtime: Runtime) -> dict[str, int]:
    """One run of the deliver_webhooks job."""
    return run_webhooks(runtime)


def admin_of(members: Any, workspace: str = "acme") -> Principal:
    principal = members("admin", workspace)
    assert isinstance(principal, Principal)
    return principal
