"""Shared set-up for the benchmarks: a throw-away store with one workspace, like the tests."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from plugboard.crypto.keyring import Keyring, generate_key  # noqa: E402
from plugboard.crypto.sealing import Sealer  # noqa: E402
from plugboard.settings import Settings  # noqa: E402
from plugboard.store.database import Database  # noqa: E402
from plugboard.usecases.runtime import Runtime  # noqa: E402


def sqlite_runtime(**settings: Any) -> tuple[Runtime, Keyring, tempfile.TemporaryDirectory[str]]:
    home = tempfile.TemporaryDirectory()
    url = f"sqlite:///{home.name}/plugboard.db"
    return runtime_on(url, Path(home.name), **settings) + (home,)  # type: ignore[return-value]


def runtime_on(url: str, home: Path, **settings: Any) -> tuple[Runtime, Keyring]:
    database = Database(url)
    database.upgrade()
    keyring = Keyring(keys=(generate_key(),), source="bench")
    values = {"outbound_allowlist": "127.0.0.1", **settings}
    runtime = Runtime(
        settings=Settings(home=home, database_url=url, **values),
        database=database,
        sealer=Sealer(keyring),
    )
    return runtime, keyring


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- a fast local upstream and the machine's load ---------------------------------------------

NGINX = "/usr/sbin/nginx"

_NGINX_PREAMBLE = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
"""

RETURN_200_SERVER = """
    server {{
        listen 127.0.0.1:{port};
        default_type application/json;
        location / {{ return 200 '{{"ok": true}}'; }}
    }}
"""


def nginx_conf(directory: Path, servers: str) -> str:
    """An nginx configuration that keeps its files in ``directory`` and serves ``servers`` (the
    ``http`` block's contents, already formatted)."""
    return _NGINX_PREAMBLE.format(dir=directory) + servers + "}\n"


# The fallback when nginx is missing: one keep-alive HTTP/1.1 answer per request, no parsing
# beyond finding the end of the headers (the benchmark's requests carry no body but SigV4's
# empty one).
_RAW_UPSTREAM = """
import asyncio, sys
BODY = b'{"ok": true}'
ANSWER = (b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: "
          + str(len(BODY)).encode() + b"\\r\\n\\r\\n" + BODY)
async def handle(reader, writer):
    try:
        while True:
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(ANSWER)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fast_upstream(directory: Path) -> tuple[Any, str, str]:
    """(process, origin, kind): nginx answering ``return 200`` on a free loopback port, or a
    minimal asyncio server when nginx is not installed. Stop it with :func:`stop_process`."""
    import os
    import subprocess
    import time

    import httpx2

    port = free_port()
    if os.path.exists(NGINX):
        servers = RETURN_200_SERVER.format(port=port)
        (directory / "nginx.conf").write_text(nginx_conf(directory, servers))
        command = [NGINX, "-c", str(directory / "nginx.conf"), "-p", str(directory)]
        kind = "nginx return 200 (1 worker)"
    else:
        (directory / "raw_upstream.py").write_text(_RAW_UPSTREAM)
        command = [sys.executable, str(directory / "raw_upstream.py"), str(port)]
        kind = "asyncio raw HTTP server"
    proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    origin = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx2.get(origin + "/")
            return proc, origin, kind
        except httpx2.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_process(proc)
                raise RuntimeError(f"the upstream ({kind}) did not start") from None
            time.sleep(0.05)


def stop_process(proc: Any) -> None:
    """Stop a process this benchmark started, by its pid."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except Exception:
            proc.kill()
            proc.wait()


def load_average() -> str:
    import os

    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def too_busy(limit: float = 0.5) -> bool:
    """True when the 1-minute load average per core is above ``limit``: other work then takes
    the cores the measurement needs, and a missed target says nothing about the code."""
    import os

    return os.getloadavg()[0] / (os.cpu_count() or 1) > limit
