"""Overhead of the HTTP proxy: GETs through `/proxy/<link>/…` of a running Plugboard server
against the same GETs sent straight to the upstream with the credential set by hand, measured
in the same run with the same client loop.

Three processes on 127.0.0.1: this client, the upstream (a minimal ASGI app under uvicorn) and
Plugboard (`create_app` under uvicorn, SQLite store, the store initialized like `plugboard init`
and the connection made over the REST API). Both sides keep connections alive.

- latency: 2,000 sequential GETs per side with one httpx2.Client, timed in alternating blocks
  of 250 so drift hits both alike; p50 and p99 of each and their ratios;
- throughput: 2,000 GETs per side from 16 concurrent asyncio tasks sharing one
  httpx2.AsyncClient; requests/s of each.

Prints the figures; no pass/fail target (the proxy adds a hop, token authentication and a
credential resolution: see docs/performance.md).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
from _common import percentile

from plugboard.settings import Settings
from plugboard.usecases.setup import initialize

N = 2000
BLOCK = 250
CONCURRENCY = 16
KEY = "bench-key-1"

UPSTREAM = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok": true}'})
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _uvicorn(
    app: str, port: int, cwd: Path, env: dict[str, str], *extra: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning",
         "--no-access-log", *extra],
        cwd=cwd,
        env=env,
    )  # fmt: skip


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx2.get(url)
            return
        except httpx2.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.05)


def _time(call: Callable[[], httpx2.Response], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = call()
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return out


async def _rate(url: str, headers: dict[str, str], n: int) -> float:
    limits = httpx2.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx2.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        for _ in range(CONCURRENCY):  # open the connections first
            await client.get(url)
        left = [n]

        async def worker() -> None:
            while left[0] > 0:
                left[0] -= 1
                response = await client.get(url)
                assert response.status_code == 200, response.text

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return n / (time.perf_counter() - start)


def main() -> int:
    home = tempfile.TemporaryDirectory()
    root = Path(home.name)
    (root / "bench_upstream.py").write_text(UPSTREAM)
    up_port, pb_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(
        PLUGBOARD_HOME=str(root / "home"),
        PLUGBOARD_DATABASE_URL=f"sqlite:///{root}/plugboard.db",
        PLUGBOARD_OUTBOUND_ALLOWLIST="127.0.0.1",
        PLUGBOARD_ALLOW_HTTP_HOSTS="127.0.0.1",
        PLUGBOARD_BASE_URL=f"http://127.0.0.1:{pb_port}",
    )
    settings = Settings(
        home=root / "home", database_url=env["PLUGBOARD_DATABASE_URL"],
        outbound_allowlist="127.0.0.1", allow_http_hosts="127.0.0.1",
    )  # fmt: skip
    login = initialize(settings, admin_email="bench@plugboard.local").login
    assert login is not None
    procs = [
        _uvicorn("bench_upstream:app", up_port, root, env, "--lifespan", "off"),
        _uvicorn("plugboard.server.app:create_app", pb_port, root, env, "--factory"),
    ]
    upstream = f"http://127.0.0.1:{up_port}"
    plugboard = f"http://127.0.0.1:{pb_port}"
    try:
        _wait(f"{upstream}/v1/items", procs[0])
        _wait(f"{plugboard}/health", procs[1])
        bearer = {"Authorization": f"Bearer {login.token}"}
        with httpx2.Client(base_url=f"{plugboard}/api/v1", headers=bearer) as api:
            service = {
                "name": "Bench key", "link_name": "bench_key", "auth_type": "api_key",
                "base_url": upstream,
                "api_key": {"parameters": [
                    {"param_type": "header", "name": "X-Api-Key", "display_name": "Key"}
                ]},
            }  # fmt: skip
            for path, body in (
                ("/services", service),
                ("/connections", {"service": "bench_key", "link_name": "key"}),
                ("/connections/key/credentials", {"values": {"X-Api-Key": KEY}, "test": False}),
            ):
                made = api.post(path, json=body)
                assert made.status_code == 201, made.text

        direct_url, direct_headers = f"{upstream}/v1/items", {"X-Api-Key": KEY}
        proxy_url, proxy_headers = f"{plugboard}/proxy/key/v1/items", bearer
        me_url = f"{plugboard}/api/v1/me"  # the token check alone, for the breakdown
        print(
            f"{N} sequential GETs per side; upstream and Plugboard: uvicorn on 127.0.0.1, "
            "each in its own process"
        )
        with httpx2.Client() as client:
            for _ in range(200):  # warm up: connections, caches
                client.get(direct_url, headers=direct_headers)
                client.get(proxy_url, headers=proxy_headers)
            direct: list[float] = []
            proxied: list[float] = []
            me: list[float] = []
            for _ in range(N // BLOCK):
                direct += _time(lambda: client.get(direct_url, headers=direct_headers), BLOCK)
                proxied += _time(lambda: client.get(proxy_url, headers=proxy_headers), BLOCK)
                me += _time(lambda: client.get(me_url, headers=proxy_headers), BLOCK // 5)
        d50, p50 = statistics.median(direct), statistics.median(proxied)
        d99, p99 = percentile(direct, 99), percentile(proxied, 99)
        print(
            f"latency  direct p50 {d50 * 1e6:7.0f} us  p99 {d99 * 1e6:7.0f} us | "
            f"proxy p50 {p50 * 1e6:7.0f} us  p99 {p99 * 1e6:7.0f} us | "
            f"ratio p50 {p50 / d50:.2f}  p99 {p99 / d99:.2f}  "
            f"(+{(p50 - d50) * 1e6:.0f} us per request at p50)"
        )
        print(
            f"breakdown  GET /api/v1/me (bearer token check, no upstream) p50 "
            f"{statistics.median(me) * 1e6:7.0f} us  p99 {percentile(me, 99) * 1e6:7.0f} us"
        )
        direct_rps = asyncio.run(_rate(direct_url, direct_headers, N))
        proxy_rps = asyncio.run(_rate(proxy_url, proxy_headers, N))
        print(
            f"throughput ({CONCURRENCY} concurrent tasks, {N} GETs per side)  "
            f"direct {direct_rps:7.0f} req/s | proxy {proxy_rps:7.0f} req/s | "
            f"ratio {proxy_rps / direct_rps:.2f}"
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
        home.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
