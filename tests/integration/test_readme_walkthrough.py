"""The README's walkthrough, line by line: `make run`'s two commands, then every command of the
walkthrough block exactly as written (on a free port instead of 8000, through the environment).

A person follows it once and goes on from where it leaves them: so do these tests. `make run`
and the walkthrough run once for the module (`walked`); each test then checks what it printed
or continues from the state it left -- the SDK snippet, a restart -- and leaves the server
serving (the restart test ends with it started again)."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def walkthrough() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- walkthrough:start -->\n```sh\n(.*?)```", readme, re.S)
    assert block, "README.md has no walkthrough block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def sdk_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- sdk:start -->\n```python\n(.*?)```", readme, re.S)
    assert block, "README.md has no sdk block"
    return block.group(1)


def make_run_commands() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe
    return [line.strip().replace("$(BIN)/", "") for line in recipe.group(1).splitlines()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """`plugboard serve --demo` as `make run` starts it, in its own process (stopped by pid)."""

    def __init__(self, command: str, environment: dict[str, str], port: int) -> None:
        self.command, self.environment, self.port = command, environment, port
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            shlex.split(self.command), env=_with_bin(self.environment),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{self.port}/demo/health"
                if httpx2.get(url, timeout=1).status_code == 200:
                    return
            except httpx2.TransportError:
                assert self.process.poll() is None, self._stderr()
                time.sleep(0.1)
        raise AssertionError("the server did not start in 30 s")

    def _stderr(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        return self.process.stderr.read()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None


@dataclass(frozen=True)
class Walked:
    """The served demo after the walkthrough: the environment it exported, each output."""

    served: Served
    environment: dict[str, str]
    outputs: list[str]


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walked]:
    with _served(tmp_path_factory.mktemp("walkthrough")) as served:
        environment, outputs = run_walkthrough(served)
        yield Walked(served, environment, outputs)


@contextmanager
def _served(tmp_path: Path) -> Iterator[Served]:
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    environment.update(
        PLUGBOARD_HOME=str(tmp_path / "home"),
        PLUGBOARD_PORT=str(port),
        PLUGBOARD_BASE_URL=f"http://127.0.0.1:{port}",
        COLUMNS="200",
        PWD=str(ROOT),
    )
    init, serve = make_run_commands()
    assert init == "plugboard init --if-new" and serve == "plugboard serve --demo"
    done = subprocess.run(
        shlex.split(init), env=_with_bin(environment), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "API token" in done.stdout, done.stderr
    server = Served(serve, environment, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _with_bin(environment: dict[str, str]) -> dict[str, str]:
    return {**environment, "PATH": f"{BIN}{os.pathsep}{environment.get('PATH', '')}"}


def run_walkthrough(served: Served) -> tuple[dict[str, str], list[str]]:
    """Every walkthrough command; returns the environment it exported and each output."""
    environment = dict(served.environment)
    outputs: list[str] = []
    for line in walkthrough():
        command = line.split("  #")[0].strip()
        if command.startswith("export "):
            name, _, value = command[len("export ") :].partition("=")
            environment[name] = (
                value.strip('"')
                .replace("$PWD", str(ROOT))
                .replace("$PATH", environment.get("PATH", ""))
            )
            continue
        args = shlex.split(command)
        if args[:2] == ["plugboard", "authorize"]:
            outputs.append(_authorize_like_a_person(args, environment))
            continue
        outputs.append(_run(args, environment))
    return environment, outputs


def _run(args: list[str], environment: dict[str, str]) -> str:
    done = subprocess.run(
        args, env=environment, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, f"{shlex.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _invoked_ok(output: str) -> bool:
    compact = output.replace(" ", "")
    return '"ok":true' in compact and '"auth":"oauth2"' in compact


def test_the_readme_walkthrough_authorizes_and_invokes(walked: Walked) -> None:
    assert _invoked_ok(walked.outputs[-1])


def test_the_readme_sdk_snippet_runs_as_written_after_the_walkthrough(walked: Walked) -> None:
    # As written, but on this test's port instead of 8000 (as the commands above).
    code = sdk_snippet().replace("127.0.0.1:8000", f"127.0.0.1:{walked.served.port}")
    lines = _run(["python", "-c", code], walked.environment).splitlines()
    assert len(lines) == 4 and lines[0].startswith("200 "), lines
    # Each line is a printed dict: the demo API's answer to the request with the credential.
    assert all("'ok': True" in line and "'auth': 'oauth2'" in line for line in lines), lines


def test_a_restarted_demo_server_keeps_the_authorized_connection_working(
    walked: Walked,
) -> None:
    assert _invoked_ok(walked.outputs[-1])
    walked.served.stop()
    walked.served.start()
    # The demo provider remembers the tokens it issued: no new consent is needed.
    assert _invoked_ok(_run(shlex.split("plugboard invoke demo GET /hello"), walked.environment))


def _authorize_like_a_person(args: list[str], environment: dict[str, str]) -> str:
    """Run `plugboard authorize`, open the URL it prints first, and wait for it to finish."""
    process = subprocess.Popen(
        args, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    page = httpx2.get(url, follow_redirects=True, timeout=10)
    assert page.status_code == 200 and "Connected" in page.text, page.text
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out
