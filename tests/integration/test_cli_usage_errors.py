"""Usage mistakes on the command line end in one short message and exit status 2, as click's own
programs do; and every command can print JSON for scripts.

The catalogue of mistakes runs in-process (tests/cli_inprocess.py: the same entry point, which
turns click's exceptions into the message and the exit status); the hint and the group help are
checked on real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import typer

from plugboard.cli.main import app
from plugboard.store.database import Database
from tests.cli_inprocess import cli_env, plugboard_in_process

PLUGBOARD = [sys.executable, "-m", "plugboard.cli"]


def plugboard(
    home: Path, *args: str, database: Database | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGBOARD_")}
    env.update(PLUGBOARD_HOME=str(home), COLUMNS="200")
    if database is not None:
        env["PLUGBOARD_DATABASE_URL"] = database.url
    return subprocess.run([*PLUGBOARD, *args], env=env, capture_output=True, text=True, timeout=60)


USAGE_MISTAKES = {
    "unknown command": (["connections", "lst"], "No such command 'lst'"),
    "unknown top-level command": (["conections"], "No such command 'conections'"),
    "unknown option": (["connections", "list", "--bogus"], "No such option: --bogus"),
    "missing required option": (["services", "create"], "Missing option '--file'"),
    "missing argument": (["invoke", "link"], "Missing argument 'method'"),
    "option without its value": (["services", "create", "--file"], "requires an argument"),
    "bad value": (
        ["invoke", "l", "GET", "/", "--timeout", "soon"],
        "Invalid value for '--timeout'",
    ),
    "value out of range": (["keys", "rotate", "--batch-size", "0"], "Invalid value"),
}


@pytest.mark.parametrize("mistake", USAGE_MISTAKES, ids=list(USAGE_MISTAKES))
def test_a_usage_mistake_prints_one_error_line_and_a_hint_and_exits_2(
    mistake: str, tmp_path: Path
) -> None:
    args, message = USAGE_MISTAKES[mistake]
    result = plugboard_in_process(args, cli_env(tmp_path / "home"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 3, result.stderr
    assert lines[0].startswith("Error: ") and message in lines[0], result.stderr
    assert lines[-1].startswith("Try 'plugboard") and lines[-1].endswith("--help' for help.")
    assert result.stdout == ""


def test_the_hint_names_the_command_whose_help_to_read(tmp_path: Path) -> None:
    result = plugboard(tmp_path / "home", "connections", "lst")
    assert result.stderr.strip().splitlines()[-1] == "Try 'plugboard connections --help' for help."


def test_a_group_without_its_command_prints_the_group_help_and_exits_2(tmp_path: Path) -> None:
    result = plugboard(tmp_path / "home", "connections")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Usage: plugboard connections" in result.stdout + result.stderr


def _commands(command: click.Command | typer.core.TyperCommand, path: str) -> Iterator[tuple]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from _commands(sub, f"{path} {name}")
    else:
        yield path, command


ALL_COMMANDS = dict(_commands(typer.main.get_command(app), "plugboard"))


def test_the_walk_finds_the_commands_of_every_group() -> None:
    assert {"plugboard invoke", "plugboard serve", "plugboard keys generate"} <= set(ALL_COMMANDS)
    assert "plugboard authorizations switch" in ALL_COMMANDS
    assert len(ALL_COMMANDS) >= 30


@pytest.mark.parametrize("path", sorted(ALL_COMMANDS))
def test_every_command_takes_json(path: str) -> None:
    options = {opt for param in ALL_COMMANDS[path].params for opt in getattr(param, "opts", [])}
    assert "--json" in options, f"`{path}` has no --json option"


def test_keys_generate_json_gives_the_entry_and_its_id(tmp_path: Path) -> None:
    result = plugboard(tmp_path / "home", "keys", "generate", "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["entry"].startswith(f"{printed['id']}:") and len(printed["entry"]) > 40


def test_db_upgrade_and_keys_rotate_json_report_what_they_did(
    tmp_path: Path, database: Database
) -> None:
    home = tmp_path / "home"
    env = cli_env(home, database.url)
    assert plugboard_in_process(["init"], env).returncode == 0  # the scene
    upgraded = plugboard(home, "db", "upgrade", "--json", database=database)
    assert upgraded.returncode == 0, upgraded.stderr
    state = json.loads(upgraded.stdout)
    assert state["revision"] == state["head"] and state["backend"] == database.backend
    rotated = plugboard_in_process(["keys", "rotate", "--json"], env)
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout) == {"new_key_id": "k2", "reencrypted": 0}
    reencrypted = plugboard_in_process(["keys", "reencrypt", "--json"], env)
    assert json.loads(reencrypted.stdout) == {"key_id": "k2", "reencrypted": 0}
