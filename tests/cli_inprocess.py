"""`plugboard …` run inside the test process: the console script's entry point
(`plugboard.cli.main.run`, exit codes and one-line errors included) with its own argv, environment,
stdin, stdout and stderr, against the same real home folder and database a process would use.

For tests whose subject is what a command does to the store and what it prints, not the process
itself: each spawned `plugboard` pays about a second importing Plugboard, which tests that run
a dozen commands to set up a scene paid over and over. What needs a real process (start-up
without a key, serving, `authorize` waiting for its callback, output as a terminal-less pipe
gets it) keeps one: tests/integration/test_cli.py and the other test_cli_* modules.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

from plugboard.cli import common, output
from plugboard.cli.main import run


def cli_env(home: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment a test gives `plugboard`: this one without PLUGBOARD_* variables, then
    PLUGBOARD_HOME, the database, a wide console and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(PLUGBOARD_HOME=str(home), COLUMNS="200", **extra)
    if database_url is not None:
        env["PLUGBOARD_DATABASE_URL"] = database_url
    return env


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """os.environ is exactly `env` for the command (it reads PLUGBOARD_* and COLUMNS there)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _console_width(columns: str | None) -> Iterator[None]:
    """Rich's consoles were created once, at import: a process reads COLUMNS when it starts, so
    the width a table is cut to is set here as the process would have seen it."""
    consoles = (output.out, output.err)
    saved = [(c._width, c._height) for c in consoles]  # noqa: SLF001 - restored below
    width = int(columns) if columns and columns.isdigit() else 80
    for console in consoles:
        console._width, console._height = width, 25  # noqa: SLF001
    try:
        yield
    finally:
        for console, (w, h) in zip(consoles, saved, strict=True):
            console._width, console._height = w, h  # noqa: SLF001


def plugboard_in_process(
    args: list[str] | tuple[str, ...], env: Mapping[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `plugboard ARGS` as `python -m plugboard.cli ARGS` would, with environment `env`
    (the whole environment, as given to a process) and `stdin`; returns what the process would:
    its exit status, stdout and stderr. An exception the entry point does not turn into an exit
    status (a process would print a traceback) propagates: the test fails on it."""
    # Byte streams under text ones, as a process has: `invoke` writes a body to stdout.buffer.
    out, err = _stream(), _stream()
    argv, stdin_was = sys.argv, sys.stdin
    sys.argv, sys.stdin = ["plugboard", *args], _stream(stdin.encode())
    code: int
    try:
        with (
            _environment(env),
            _console_width(env.get("COLUMNS")),
            redirect_stdout(out),
            redirect_stderr(err),
        ):
            try:
                run()
                code = 0
            except SystemExit as exc:
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:  # sys.exit("message"): the interpreter prints it and exits 1
                    print(exc.code, file=sys.stderr)
                    code = 1
    finally:
        sys.argv, sys.stdin = argv, stdin_was
        common.set_remote(None)  # a process forgets its --server when it exits; so do we
    return subprocess.CompletedProcess(["plugboard", *args], code, _text(out), _text(err))


def _stream(initial: bytes = b"") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(initial), encoding="utf-8", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    """What `subprocess.run(..., text=True)` would read: decoded, universal newlines."""
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode().replace("\r\n", "\n").replace("\r", "\n")
