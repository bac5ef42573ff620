"""App code that talks to a server, and the CLI's help, load no store, crypto or web framework."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "alembic", "cryptography", "fastapi", "starlette", "authlib", "argon2")

LOADED = f"""
import sys
{{code}}
print("loaded:" + ",".join(m for m in {HEAVY!r} if m in sys.modules))
"""


def _heavy_modules_after(code: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", LOADED.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("loaded:"), result.stdout
    return [m for m in last.removeprefix("loaded:").split(",") if m]


def test_import_plugboard_loads_no_store_crypto_or_web_framework() -> None:
    assert _heavy_modules_after("import plugboard") == []


def test_a_remote_client_loads_no_store_crypto_or_web_framework() -> None:
    code = "import plugboard\nplugboard.connect('http://127.0.0.1:9', token='t')"
    assert _heavy_modules_after(code) == []


@pytest.mark.parametrize("command", [[], ["connections", "list"], ["invoke"], ["serve"]])
def test_help_loads_no_store_crypto_or_web_framework(command: list[str]) -> None:
    code = (
        "from plugboard.cli.main import app\n"
        "try:\n"
        f"    app({[*command, '--help']!r}, standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert _heavy_modules_after(code) == []


def test_the_embedded_client_is_still_there_when_asked_for() -> None:
    import plugboard
    from plugboard.client.local import LocalClient

    assert plugboard.LocalClient is LocalClient
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        plugboard.nothing_here  # noqa: B018


def test_the_authorize_callback_listener_loads_only_the_callback_route() -> None:
    """`plugboard authorize` without a server serves the callback route alone: not the REST API,
    console, docs or proxy of the whole server app (a second of the command's start-up)."""
    code = (
        "from plugboard.server.callback_app import create_callback_app\n"
        "import sys\n"
        "whole = ('plugboard.server.app', 'plugboard.server.api', 'plugboard.server.console',\n"
        "         'plugboard.server.proxy', 'plugboard.server.docs_ui')\n"
        "print('whole:' + ','.join(m for m in whole if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "whole:"
