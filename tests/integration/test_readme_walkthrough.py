"""The README's walkthrough, line by line: `make run`'s two commands, then every command of the
walkthrough block exactly as written (on a free port instead of 8000, through the environment)."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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


def make_run_commands() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe
    return [line.strip().replace("$(BIN)/", "") for line in recipe.group(1).splitlines()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
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
    server = subprocess.Popen(
        shlex.split(serve), env=_with_bin(environment), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/demo/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.1)
        yield environment
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr:
            server.stderr.close()


def _with_bin(environment: dict[str, str]) -> dict[str, str]:
    return {**environment, "PATH": f"{BIN}{os.pathsep}{environment.get('PATH', '')}"}


def test_the_readme_walkthrough_authorizes_and_invokes(env: dict[str, str]) -> None:
    environment = dict(env)
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
        done = subprocess.run(
            args, env=environment, capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    assert '"ok":true' in outputs[-1].replace(" ", "") and '"auth":"oauth2"' in outputs[-1].replace(
        " ", ""
    )


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
