"""`plugboard services …` — the catalog and custom services."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import (
    AsOption,
    JsonOption,
    WorkspaceOption,
    client_for,
)
from plugboard.cli.output import out, print_json, print_table

if TYPE_CHECKING:
    pass

services_app = typer.Typer(
    help="The service catalog (built-in and custom) and custom service files.",
    no_args_is_help=True,
)

FileOption = Annotated[
    Path,
    typer.Option(
        "--file",
        "-f",
        exists=True,
        dir_okay=False,
        readable=True,
        help="A service file (YAML); see docs/services.md.",
    ),
]


@services_app.command("list")
def services_list(
    category: Annotated[str | None, typer.Option(help="Only this category, e.g. CRM.")] = None,
    search: Annotated[
        str | None, typer.Option(help="Text in the name, link name or description.")
    ] = None,
    custom: Annotated[bool, typer.Option("--custom", help="Only custom services.")] = False,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """List services: built-in ones and the workspace's custom ones."""
    with client_for(as_user, workspace) as client:
        infos = client.services.list(category=category, search=search, custom=custom)
    if json_:
        print_json([{"builtin": i.builtin, "definition": i.definition} for i in infos])
        return
    print_table(
        f"Services ({len(infos)})",
        ["link name", "name", "category", "auth", "user level", "kind"],
        [
            (
                i.link_name,
                i.name,
                i.category,
                i.auth_type,
                "yes" if i.allow_user_level else "",
                "built-in" if i.builtin else "custom",
            )
            for i in infos
        ],  # fmt: skip
    )


@services_app.command("show")
def services_show(
    link_name: Annotated[str, typer.Argument(help="The service's link name.")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Show one service's definition (secrets are never shown)."""
    import yaml

    with client_for(as_user, workspace) as client:
        info = client.services.get(link_name)
    if json_:
        print_json({"builtin": info.builtin, "definition": info.definition})
        return
    out.print(f"[bold]{info.name}[/] ({'built-in' if info.builtin else 'custom'})")
    out.print(yaml.safe_dump(info.definition, sort_keys=False).rstrip(), markup=False)


@services_app.command("create")
def services_create(
    file: FileOption,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Create a custom service from a service file."""
    with client_for(as_user, workspace) as client:
        info = client.services.create(file.read_text())
    if json_:
        print_json({"link_name": info.link_name, "definition": info.definition})
    else:
        out.print(f"Created custom service {info.link_name}", markup=False)


@services_app.command("edit")
def services_edit(
    link_name: Annotated[str, typer.Argument(help="The custom service's link name.")],
    file: FileOption,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Edit a custom service (creator only). Every authorization of its connections becomes
    not_connected (its credential is deleted): authorize them again."""
    with client_for(as_user, workspace) as client:
        change = client.services.edit(link_name, file.read_text())
    if json_:
        disconnected = change.revoked_authorizations
        print_json({"definition": change.service.definition, "disconnected": disconnected})
    else:
        out.print(
            f"Updated {change.service.link_name}; {change.revoked_authorizations} authorization(s) "
            "of its "
            "connections are now not_connected",
            markup=False,
        )


@services_app.command("delete")
def services_delete(
    link_name: Annotated[str, typer.Argument(help="The custom service's link name.")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Delete a custom service (creator only). Its connections stay, not_connected."""
    with client_for(as_user, workspace) as client:
        disconnected = client.services.delete(link_name)
    if json_:
        print_json({"deleted": link_name, "disconnected": disconnected})
    else:
        out.print(
            f"Deleted {link_name}; {disconnected} authorization(s) are now not_connected",
            markup=False,
        )


@services_app.command("lint")
def services_lint(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A service file.")
    ],
    builtin: Annotated[
        bool, typer.Option("--builtin", help="Lint as a built-in catalog file (no OAuth client).")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Check a service file without saving it: exit 0 when valid, else the field and rule."""
    from plugboard.domain.service import load_service_file
    from plugboard.settings import Settings

    hosts = Settings().allow_http_host_entries
    definition = load_service_file(file.read_text(), builtin=builtin, http_hosts=hosts)
    if json_:
        print_json({"valid": True, "link_name": definition.link_name})
    else:
        out.print(
            f"{file}: valid {definition.auth_type.value} service {definition.link_name!r}",
            markup=False,
        )


@services_app.command("set-client")
def services_set_client(
    link_name: Annotated[str, typer.Argument(help="The built-in OAuth service, e.g. github.")],
    client_id: Annotated[str, typer.Option(help="Your app's client id at the provider.")],
    client_secret_stdin: Annotated[
        bool,
        typer.Option("--client-secret-stdin", help="Read the client secret from stdin."),
    ] = False,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Register the OAuth client (id and secret) this workspace uses for a built-in service.

    Register an app with the provider first, with redirect URI <PLUGBOARD_BASE_URL>/oauth/callback.
    """
    import sys

    secret = sys.stdin.readline().rstrip("\n") if client_secret_stdin else None
    with client_for(as_user, workspace) as client:
        registration = client.services.set_client(link_name, client_id, secret)
    if json_:
        print_json(registration)
        return
    out.print(f"Registered the OAuth client for {link_name}", markup=False)
