"""Overhead of invoke: 2,000 sequential GETs to a local upstream through `pb.invoke_url`,
against bare `httpx2.Client.get` with the same credential, measured in the same run.

The upstream is a minimal ASGI app under uvicorn in its own process on 127.0.0.1 (so it does
not compete with the client for the GIL). Both sides keep connections alive; the two are
measured in alternating blocks so drift hits both alike. Target: median ratio <= 1.15.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
from _common import percentile, sqlite_runtime

from plugboard.client.local import LocalClient
from plugboard.domain.credentials import ApiKeyCredential, OAuth2Credential
from plugboard.domain.principal import OPERATOR
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.services import create_custom_service

N = 2000
BLOCK = 250
TARGET = 1.15

UPSTREAM = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok": true}'})
"""

SERVICES = {
    "apikey": """
name: Bench key
link_name: bench_key
base_url: BASE_URL
auth_type: api_key
api_key:
  parameters:
    - {param_type: header, name: X-Api-Key, display_name: Key}
""",
    "oauth2": """
name: Bench OAuth
link_name: bench_oauth
base_url: BASE_URL
auth_type: oauth2
oauth2:
  client_id: bench
  client_secret: bench-secret
  authorize_url: https://auth.bench-provider.net/authorize
  token_url: https://auth.bench-provider.net/token
  scopes: [{name: read, description: Read, required: true}]
""",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_upstream(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    (directory / "bench_upstream.py").write_text(UPSTREAM)
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench_upstream:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--lifespan",
            "off",
        ],
        cwd=directory,
    )
    url = f"http://127.0.0.1:{port}/v1/items"
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx2.get(url)
            return proc, url
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def _time(call: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    runtime, _keyring, home = sqlite_runtime(allow_http_hosts="127.0.0.1")
    proc, url = _start_upstream(Path(home.name))
    failed = False
    try:
        with runtime.unit() as unit:
            from plugboard.domain.models import WorkspaceKind

            unit.workspaces.add("default", WorkspaceKind.DEVELOPER, unit.now())
            origin = "/".join(url.split("/")[:3])  # the upstream's scheme://host:port
            for text in SERVICES.values():
                create_custom_service(
                    unit, OPERATOR, text.replace("BASE_URL", origin), http_hosts=["127.0.0.1"]
                )
            create_connection(unit, OPERATOR, service="bench_key", link_name="key")
            create_connection(unit, OPERATOR, service="bench_oauth", link_name="oauth")
            store_credential(
                unit,
                OPERATOR,
                connection="key",
                credential=ApiKeyCredential({"X-Api-Key": "bench-key-1"}),
            )
            store_credential(
                unit,
                OPERATOR,
                connection="oauth",
                credential=OAuth2Credential("bench-token-1", "bench-refresh-1"),
            )
        cases = {
            "api key": ("key", {"X-Api-Key": "bench-key-1"}),
            "oauth2 bearer": ("oauth", {"Authorization": "Bearer bench-token-1"}),
        }
        print(f"{N} sequential GETs per side, upstream: uvicorn on 127.0.0.1 (own process)")
        with LocalClient(runtime) as pb, httpx2.Client() as bare:
            for name, (link, headers) in cases.items():
                for _ in range(200):  # warm both up: connections, caches
                    bare.get(url, headers=headers)
                    pb.invoke_url(url, connection=link)
                base: list[float] = []
                ours: list[float] = []
                for _ in range(N // BLOCK):
                    base += _time(lambda h=headers: bare.get(url, headers=h), BLOCK)
                    ours += _time(lambda c=link: pb.invoke_url(url, connection=c), BLOCK)
                b_med, o_med = statistics.median(base), statistics.median(ours)
                b_p99, o_p99 = percentile(base, 99), percentile(ours, 99)
                ratio = o_med / b_med
                print(
                    f"{name:14} httpx2 median {b_med * 1e6:7.0f} us  p99 {b_p99 * 1e6:7.0f} us | "
                    f"invoke median {o_med * 1e6:7.0f} us  p99 {o_p99 * 1e6:7.0f} us | "
                    f"ratio median {ratio:.3f}  p99 {o_p99 / b_p99:.3f}  "
                    f"({'ok' if ratio <= TARGET else 'ABOVE TARGET'} <= {TARGET})"
                )
                failed |= ratio > TARGET
    finally:
        proc.terminate()
        proc.wait()
        runtime.close()
        home.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
