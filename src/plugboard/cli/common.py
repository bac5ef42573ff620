"""Options every command shares, and the way a command gets its runtime and acting principal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
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
