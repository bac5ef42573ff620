"""Overhead of the HTTP proxy: `/proxy/<link>/…` of a running `plugboard serve` beside the same
GETs sent straight to the upstream and through nginx injecting the same header, in one run.

Processes on 127.0.0.1, each started and stopped by its pid:

- the upstream: nginx answering ``return 200`` with a small fixed body (so the upstream's own
  cost stays out of the measurement), one worker;
- nginx as a reverse proxy that injects the API key header (``proxy_set_header``, keep-alive to
  the upstream), one worker, in the same nginx process (its own server block and port);
- Plugboard: ``plugboard serve`` (its real server set-up: uvloop and httptools when installed,
  the guarded protocol, the access log written to a file), SQLite, one worker, an API-key
  connection made over the REST API; and a second ``plugboard serve --workers 2`` on a fresh
  PostgreSQL database (127.0.0.1:5432, or PLUGBOARD_TEST_POSTGRES_URL) when one answers --
  the SQLite store serves one worker only.

The load generator is wrk (Debian's; installed with apt-get when missing, like nginx):

- concurrency 1: ``wrk -t1 -c1 --latency``, p50 and p99 of each path;
- concurrency 32: ``wrk -t1 -c32``, requests/s of each path.

Each figure is the best of ``ROUNDS`` rounds (the rounds alternate the paths, so a neighbour's
burst hits one round, not one path). Prints Plugboard's share of nginx's and of direct's figure
and the load average. Targets (issue 14): ``/proxy`` adds at most 0.5 ms p50 over direct at
concurrency 1 and sustains at least 2,000 req/s with one worker at concurrency 32. A missed
target fails the run, unless the machine was too busy before the run to say anything (then the
figures are printed and the run reports it instead of failing).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
from _common import REPO, RETURN_200_SERVER, free_port, nginx_conf

from plugboard.settings import Settings
from plugboard.usecases.setup import initialize

ROUNDS = 2
LATENCY_SECONDS = 2
RATE_SECONDS = 3
CONNECTIONS = 32
MAX_ADDED_P50 = 0.5e-3
MIN_RATE = 2000.0
BUSY_PER_CORE = 0.5
KEY = "bench-key-1"
PLUGBOARD = [sys.executable, "-m", "plugboard.cli"]
PG_SERVER = os.environ.get(
    "PLUGBOARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

NGINX_PROXY_SERVERS = """
    upstream fast {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{proxy};
        location / {{
            proxy_pass http://fast;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Api-Key "{key}";
        }}
    }}
"""


@dataclass
class Figures:
    p50: float = float("inf")
    p99: float = float("inf")
    rate: float = 0.0
    requests: int = 0
    cpu: float | None = None  # the server's CPU seconds per request at c=32 (Linux)


def _cpu_seconds(pid: int) -> float | None:
    """User+system CPU seconds of a process and its children (the workers), from /proc: a
    figure a busy machine inflates far less than wall-clock rates."""
    try:
        pids = [pid]
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
        total = 0
        for one in pids:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def _tool(name: str, package: str) -> str | None:
    """The tool's path, installing its Debian package first when it is missing."""
    found = _which(name)
    if found or shutil.which("apt-get") is None or os.geteuid() != 0:
        return found
    print(f"{name} not found: apt-get install {package}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt_get(*args: str) -> int:
        quiet = subprocess.DEVNULL
        return subprocess.run(["apt-get", *args], env=env, stdout=quiet, stderr=quiet).returncode

    if apt_get("install", "-y", "-q", package):
        apt_get("update", "-q")
        apt_get("install", "-y", "-q", package)
    return _which(name)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process this benchmark started, by its pid."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx2.get(url, timeout=2)
            return
        except httpx2.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.1)


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def _wrk(wrk: str, url: str, headers: dict[str, str], connections: int, seconds: int) -> Figures:
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"{url}: {m.group(1)} answers were not 2xx\n{out}")
    if m := re.search(r"Socket errors: (.*)", out):
        raise RuntimeError(f"{url}: socket errors: {m.group(1)}\n{out}")
    found = Figures(
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
    )
    for pct, value, unit in re.findall(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        setattr(found, f"p{pct}", float(value) * _UNITS[unit])
    return found


def _postgres_database() -> contextlib.AbstractContextManager[str | None]:
    """A fresh PostgreSQL database's URL (dropped afterwards), or None when none answers."""

    @contextlib.contextmanager
    def fresh() -> Iterator[str | None]:
        try:
            from sqlalchemy import create_engine, make_url, text
        except ImportError:  # pragma: no cover
            yield None
            return
        name = f"plugboard_proxy_bench_{os.getpid()}"
        admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # noqa: BLE001 -- any failure means: no PostgreSQL to use
            print(f"(no PostgreSQL at {make_url(PG_SERVER).host}: {type(exc).__name__}; "
                  "the 2-worker run is skipped)")  # fmt: skip
            admin.dispose()
            yield None
            return
        try:
            yield make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    return fresh()


def _plugboard(
    root: Path, name: str, database_url: str, upstream: str, workers: int
) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    """Initialize a store, serve it, make the API-key connection: (process, /proxy URL, the
    caller's headers)."""
    home, port = root / name, free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(
        PLUGBOARD_HOME=str(home),
        PLUGBOARD_DATABASE_URL=database_url,
        PLUGBOARD_OUTBOUND_ALLOWLIST="127.0.0.1",
        PLUGBOARD_ALLOW_HTTP_HOSTS="127.0.0.1",
        PLUGBOARD_JOBS_IN_SERVE="false",
    )
    settings = Settings(
        home=home, database_url=database_url,
        outbound_allowlist="127.0.0.1", allow_http_hosts="127.0.0.1",
    )  # fmt: skip
    login = initialize(settings, admin_email="bench@plugboard.local").login
    assert login is not None
    log = (root / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [*PLUGBOARD, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
         str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/health", proc)
        bearer = {"Authorization": f"Bearer {login.token}"}
        with httpx2.Client(base_url=f"{base}/api/v1", headers=bearer) as api:
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
        url = f"{base}/proxy/key/v1/items"
        check = httpx2.get(url, headers=bearer)
        assert check.status_code == 200 and check.json() == {"ok": True}, check.text
    except BaseException:
        _stop(proc)
        raise
    return proc, url, bearer


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:6.3f} ms"


def main() -> int:
    nginx, wrk = _tool("nginx", "nginx"), _tool("wrk", "wrk")
    if nginx is None or wrk is None:
        print("nginx or wrk is missing and could not be installed (apt-get, as root): skipped")
        return 0
    one, five, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    busy = one / cores > BUSY_PER_CORE
    print(f"before the run: load average {one:.2f} {five:.2f} ({cores} cores)")
    work = tempfile.TemporaryDirectory(prefix="pb-proxy-bench-")
    root = Path(work.name)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        up_port, nx_port = free_port(), free_port()
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (root / sub).mkdir()
        servers = RETURN_200_SERVER.format(port=up_port) + NGINX_PROXY_SERVERS.format(
            upstream=up_port, proxy=nx_port, key=KEY
        )
        (root / "nginx.conf").write_text(nginx_conf(root, servers))
        ngx = subprocess.Popen(
            [nginx, "-c", str(root / "nginx.conf"), "-p", str(root)], stderr=subprocess.DEVNULL
        )
        procs.append(ngx)
        upstream = f"http://127.0.0.1:{up_port}"
        _wait(upstream + "/", ngx)
        servers: dict[str, int] = {}
        paths: dict[str, tuple[str, dict[str, str]]] = {
            "direct": (f"{upstream}/v1/items", {"X-Api-Key": KEY}),
            "nginx": (f"http://127.0.0.1:{nx_port}/v1/items", {}),
        }
        proc, url, bearer = _plugboard(
            root, "sqlite", f"sqlite:///{root}/plugboard.db", upstream, workers=1
        )
        procs.append(proc)
        paths["proxy"] = (url, bearer)
        servers["proxy"] = proc.pid
        with _postgres_database() as pg_url:
            if pg_url is not None:
                proc, url, bearer = _plugboard(root, "pg", pg_url, upstream, workers=2)
                procs.append(proc)
                paths["proxy 2 workers"] = (url, bearer)
                servers["proxy 2 workers"] = proc.pid
            figures = {name: Figures() for name in paths}
            for url, headers in paths.values():  # warm up: connections, caches
                _wrk(wrk, url, headers, CONNECTIONS, 1)
            for _ in range(ROUNDS):
                for name, (url, headers) in paths.items():
                    lat = _wrk(wrk, url, headers, 1, LATENCY_SECONDS)
                    pid = servers.get(name)
                    before = _cpu_seconds(pid) if pid else None
                    rate = _wrk(wrk, url, headers, CONNECTIONS, RATE_SECONDS)
                    after_cpu = _cpu_seconds(pid) if pid else None
                    best = figures[name]
                    if before is not None and after_cpu is not None and rate.requests:
                        used = (after_cpu - before) / rate.requests
                        best.cpu = used if best.cpu is None else min(best.cpu, used)
                    best.p50, best.p99 = min(best.p50, lat.p50), min(best.p99, lat.p99)
                    best.rate = max(best.rate, rate.rate)
            for proc in procs[2:]:
                _stop(proc)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        work.cleanup()
    after = os.getloadavg()
    d, n, p = figures["direct"], figures["nginx"], figures["proxy"]
    print(
        f"wrk -t1 on 127.0.0.1, upstream nginx `return 200`; best of {ROUNDS} rounds; "
        f"c=1 {LATENCY_SECONDS} s (--latency), c={CONNECTIONS} {RATE_SECONDS} s"
    )
    for name, f in figures.items():
        cpu = f" | server CPU {f.cpu * 1e6:5.0f} us/request" if f.cpu is not None else ""
        print(
            f"  {name:16s} c=1 p50 {_ms(f.p50)}  p99 {_ms(f.p99)} | "
            f"c={CONNECTIONS} {f.rate:9.0f} req/s{cpu}"
        )
    if p.cpu:
        print(
            f"proxy, 1 worker: {p.cpu * 1e6:.0f} us of server CPU per request at c={CONNECTIONS}"
            f" -> at most {1 / p.cpu:.0f} req/s on one free core (a figure the load inflates"
            " far less than the measured rate)"
        )
    added = p.p50 - d.p50
    print(
        f"proxy at c=1: +{added * 1e3:.3f} ms p50 over direct (nginx +{(n.p50 - d.p50) * 1e3:.3f}"
        f" ms); p50 {p.p50 / n.p50:.1f}x nginx's"
    )
    print(
        f"proxy at c={CONNECTIONS}, 1 worker: {p.rate / n.rate:.1%} of nginx's req/s, "
        f"{p.rate / d.rate:.1%} of direct's"
    )
    if (two := figures.get("proxy 2 workers")) is not None:
        print(
            f"proxy at c={CONNECTIONS}, 2 workers (PostgreSQL): {two.rate:.0f} req/s, "
            f"{two.rate / p.rate:.2f}x one worker, {two.rate / n.rate:.1%} of nginx's"
        )
    print(f"after the run: load average {after[0]:.2f} {after[1]:.2f} ({cores} cores)")
    missed = []
    if added > MAX_ADDED_P50:
        missed.append(f"p50 added {added * 1e3:.3f} ms > {MAX_ADDED_P50 * 1e3:.1f} ms")
    if p.rate < MIN_RATE:
        missed.append(f"{p.rate:.0f} req/s < {MIN_RATE:.0f} req/s with one worker")
    if not missed:
        print(f"targets met: <= {MAX_ADDED_P50 * 1e3:.1f} ms added p50, >= {MIN_RATE:.0f} req/s")
        return 0
    if busy:
        print(f"targets missed ({'; '.join(missed)}) on a busy machine (load {one:.2f} on "
              f"{cores} cores before the run): reported, not judged")  # fmt: skip
        return 0
    print(f"TARGETS MISSED: {'; '.join(missed)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
