"""`plugboard notifications …`: your notices (SPEC §5 "Telling the right person") -- an
authorization you can fix that expired, was revoked by the provider, needs re-authorizing or
failed --, marking them read, and muting a connection. Every command works through the client,
embedded (as `--as`) or with `--server` (as the token's member)."""

from __future__ import annotations

from typing import Annotated

import typer

from plugboard.cli.common import AsOption, JsonOption, WorkspaceOption, client_for
from plugboard.cli.output import out, print_json, print_table, when

notifications_app = typer.Typer(
    help="Your notifications (expired, revoked or failed authorizations you can fix), marking "
    "them read, and muting a connection.",
    no_args_is_help=True,
)
Connection = Annotated[str, typer.Argument(help="The connection's link name.")]


@notifications_app.command("list")
def notifications_list(
    unread: Annotated[bool, typer.Option("--unread", help="Only those not read yet.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=200, help="At most this many.")] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="Continue after a page (its next_cursor).")
    ] = None,
    as_user: AsOption = None,
    workspace: WorkspaceOption = None,
    json_: JsonOption = False,
) -> None:
    """Your notifications, newest first, each with the link that fixes it."""
    with client_for(as_user, workspace) as client:
        page = client.notifications.list(unread_only=unread, limit=limit, cursor=cursor)
    if json_:
        print_json(page.model_dump(mode="json"))
        return
    print_table(
        f"Notifications ({page.unread} unread)",
        ["id", "when", "read", "connection", "title", "link"],
        [(n.id, when(n.created_at), "yes" if n.read else "", n.connection or "", n.title, n.link)
         for n in page.items],
    )  # fmt: skip
    if page.next_cursor:
        out.print(f"more: --cursor '{page.next_cursor}'", markup=False)


@notifications_app.command("read")
def notifications_read(
    ids: Annotated[list[str] | None, typer.Argument(help="Ids; none: all of them.")] = None,
    as_user: AsOption = None,
    workspace: WorkspaceOption = None,
    json_: JsonOption = False,
) -> None:
    """Mark notifications read."""
    with client_for(as_user, workspace) as client:
        marked = client.notifications.mark_read(ids or None)
    if json_:
        print_json({"marked": marked})
    else:
        out.print(f"{marked} marked read", markup=False)


def _muted(connection: str, mute: bool, as_user: str | None, workspace: str | None,
           json_: bool) -> None:  # fmt: skip
    with client_for(as_user, workspace) as client:
        api = client.notifications
        result = api.mute(connection) if mute else api.unmute(connection)
    if json_:
        print_json(result.model_dump(mode="json"))
    else:
        out.print(f"{result.connection}: {'muted' if result.muted else 'not muted'}", markup=False)


@notifications_app.command("mute")
def notifications_mute(
    connection: Connection,
    off: Annotated[bool, typer.Option("--off", help="Unmute it (as `unmute`).")] = False,
    as_user: AsOption = None,
    workspace: WorkspaceOption = None,
    json_: JsonOption = False,
) -> None:
    """No more notifications about this connection for you."""
    _muted(connection, not off, as_user, workspace, json_)


@notifications_app.command("unmute")
def notifications_unmute(
    connection: Connection,
    as_user: AsOption = None,
    workspace: WorkspaceOption = None,
    json_: JsonOption = False,
) -> None:
    """Notifications about this connection for you again."""
    _muted(connection, False, as_user, workspace, json_)


@notifications_app.command("muted")
def notifications_muted(
    as_user: AsOption = None, workspace: WorkspaceOption = None, json_: JsonOption = False
) -> None:
    """The connections you muted."""
    with client_for(as_user, workspace) as client:
        found = client.notifications.muted()
    if json_:
        print_json([m.model_dump(mode="json") for m in found])
    else:
        for m in found:
            out.print(m.connection, markup=False)
