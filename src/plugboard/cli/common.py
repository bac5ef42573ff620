"""Options every command shares, and the way a command gets its runtime and acting principal --
or, with ``plugboard --server URL --token T`` (``PLUGBOARD_SERVER`` / ``PLUGBOARD_TOKEN``), the
remote client app-developer commands use instead."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from plugboard.client.local import LocalClient
    from plugboard.client.remote import RemoteClient
    from plugboard.domain.principal import Principal
    from plugboard.store.unit import Unit
    from plugboard.usecases.runtime import Runtime

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Act as this member (e-mail), with that member's role. Without it the CLI acts as "
        "the local operator, who holds the master key and may do everything.",
        envvar="PLUGBOARD_AS",
    ),
]
WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace name (default: `default`).",
        envvar="PLUGBOARD_WORKSPACE",
    ),
]


def open_runtime() -> Runtime:
    from plugboard.settings import Settings
    from plugboard.usecases.runtime import Runtime

    return Runtime.open(Settings())


@contextmanager
def acting(as_user: str | None, workspace: str | None) -> Iterator[tuple[Unit, Principal]]:
    """One transaction and the principal it runs as."""
    from plugboard.domain.principal import OPERATOR
    from plugboard.usecases.identity import principal_for

    runtime = open_runtime()
    try:
        with runtime.unit() as unit:
            actor = principal_for(unit, as_user, workspace, via="cli") if as_user else OPERATOR
            yield unit, actor
    finally:
        runtime.close()


# --- --server URL --token T ---------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteTarget:
    server: str
    token: str


_remote: list[RemoteTarget] = []  # set by the root callback for the command being run


def set_remote(target: RemoteTarget | None) -> None:
    _remote.clear()
    if target is not None:
        _remote.append(target)


def remote_target() -> RemoteTarget | None:
    return _remote[0] if _remote else None


def remote_client(as_user: str | None = None, workspace: str | None = None) -> RemoteClient | None:
    """The remote client when ``--server`` was given (``--as`` and ``--workspace`` are refused:
    remotely the token decides who acts, and where), else None: the command runs locally."""
    target = remote_target()
    if target is None:
        return None
    from plugboard.client.remote import RemoteClient
    from plugboard.errors import ValidationError

    if as_user is not None:
        raise ValidationError(
            "--as", "acts on the local store only: with --server the token decides who acts"
        )
    if workspace is not None:
        raise ValidationError(
            "--workspace", "is local only: with --server the token's workspace is used"
        )
    return RemoteClient(target.server, target.token)


def client_for(as_user: str | None, workspace: str | None) -> RemoteClient | LocalClient:
    """The client a command works through: the server's with ``--server``, else the embedded
    one on this machine's store (acting as ``--as``, in ``--workspace``)."""
    remote = remote_client(as_user, workspace)
    if remote is not None:
        return remote
    from plugboard.client.local import connect
    from plugboard.settings import Settings

    return connect(settings=Settings(), as_member=as_user, workspace=workspace)


def refuse_remote(command: str) -> None:
    """Exit with a clear message when ``--server`` was given to an administrative command (init,
    serve, db, keys, workspaces, users, tokens): those run on the server machine. Every other
    command works through the client, embedded or with ``--server``."""
    if remote_target() is None:
        return
    from plugboard.cli.output import err

    why = "runs on the server machine; --server is not supported here"
    err.print(f"error: `plugboard {command}` {why}", markup=False)
    sys.exit(2)
