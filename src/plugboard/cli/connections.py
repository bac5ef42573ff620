"""`plugboard connections …`"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import (
    AsOption,
    JsonOption,
    WorkspaceOption,
    client_for,
    remote_target,
)
from plugboard.cli.output import out, print_json, print_table, when

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from plugboard.client.local import LocalClient
    from plugboard.client.protocol import ConnectionDetails, ConnectionInfo
    from plugboard.client.remote import RemoteClient

connections_app = typer.Typer(
    help="Connections: a service, a link name, scopes and an authorization level.",
    no_args_is_help=True,
)

# A page of `connections list`: the REST API's default page, so the first one is out as fast.
PAGE = 50
LinkName = Annotated[str, typer.Argument(help="The connection's link name.")]


def _connection_json(c: ConnectionInfo) -> dict[str, object]:
    return c.model_dump(mode="json")


def _parse_params(pairs: list[str]) -> dict[str, str]:
    from plugboard.errors import ValidationError

    params: dict[str, str] = {}
    for i, pair in enumerate(pairs):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationError(f"--param[{i}]", "must be KEY=VALUE")
        params[key.strip()] = value
    return params


def _ask_missing_params(
    service: str, workspace: str | None, as_user: str | None, params: dict[str, str]
) -> None:
    """On a terminal, ask for required dynamic parameters that were not given."""
    if not sys.stdin.isatty():
        return
    from plugboard.domain.service import DynamicParameter

    with client_for(as_user, workspace) as client:
        definition = client.services.get(service).definition
    for raw in definition.get("dynamic_parameters") or []:
        param = DynamicParameter.model_validate(raw)  # the domain's defaults, not a copy
        if param.required and param.default is None and param.key not in params:
            hint = f" ({param.description})" if param.description else ""
            params[param.key] = typer.prompt(f"{param.display_name}{hint}")


@connections_app.command("create")
def connections_create(
    service: Annotated[str, typer.Option(help="The service's link name, e.g. salesforce.")],
    name: Annotated[
        str | None, typer.Option(help="Display name (default: '<Service> Connection', then 2, 3…).")
    ] = None,
    link_name: Annotated[
        str | None, typer.Option(help="Link name code uses (default: derived from the name).")
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="A scope to request (repeatable).")
    ] = None,
    all_scopes: Annotated[
        bool, typer.Option("--all-scopes", help="Request every scope (cannot be narrowed later).")
    ] = False,
    level: Annotated[str, typer.Option(help="admin, system or user (logged-in user).")] = "admin",
    per_environment: Annotated[
        bool,
        typer.Option("--per-environment", help="A separate authorization for each environment."),
    ] = False,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="A dynamic parameter, KEY=VALUE (repeatable)."),
    ] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Create a connection to a service. Missing required parameters are asked for on a terminal."""
    from plugboard.errors import ValidationError

    params = _parse_params(param or [])
    if remote_target() is None:
        _ask_missing_params(service, workspace, as_user, params)
    try:
        with client_for(as_user, workspace) as client:
            info = client.connections.create(
                service=service, name=name, link_name=link_name, scopes=scope or [],
                all_scopes=all_scopes, level=level, per_environment=per_environment,
                params=params,
            )  # fmt: skip
    except ValidationError as exc:
        if exc.field.startswith("dynamic_parameters."):
            key = exc.field.split(".", 1)[1]
            raise ValidationError(exc.field, f"{exc.rule}; pass --param {key}=VALUE") from None
        raise
    if json_:
        print_json(_connection_json(info))
    else:
        out.print(
            f"Created {info.level} connection {info.name!r} (link name {info.link_name}); "
            "authorize it next",
            markup=False,
        )


@connections_app.command("list")
def connections_list(
    service: Annotated[
        str | None, typer.Option("--service", help="Only connections to this service.")
    ] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="Only this level: admin, system or user.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Text in the name or link name.")
    ] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """List the connections you may see, with their status for you (on a user-level
    connection, your own authorization's)."""
    with client_for(as_user, workspace) as client:
        pages = _pages(client, service=service, level=level, search=search)
        if json_:
            # Written a page at a time as the pages arrive: the first page is out as soon as
            # its REST call (or store read) answers, however many connections follow.
            _print_json_pages(pages)
            return
        infos = [c for page in pages for c in page]
    print_table(
        f"Connections ({len(infos)})",
        ["link name", "name", "service", "level", "status", "per env", "modified"],
        [
            (
                c.link_name,
                c.name,
                c.service,
                c.level,
                c.status,
                "yes" if c.per_environment else "",
                when(c.modified_at),
            )
            for c in infos
        ],  # fmt: skip
    )


def _pages(
    client: RemoteClient | LocalClient,
    *,
    service: str | None,
    level: str | None,
    search: str | None,
) -> Iterator[list[ConnectionInfo]]:
    """The connections you may see, a page at a time, as the server (or the store) pages them
    by its keyset: nothing reads the whole list before the first page is out."""
    from plugboard.client.remote import RemoteClient

    if isinstance(client, RemoteClient):
        from plugboard.client.remote_records import connection_from

        query: dict[str, str | int] = {"limit": PAGE}
        query.update(
            (k, v) for k, v in (("service", service), ("level", level), ("search", search)) if v
        )
        while True:
            page = client.request("GET", "/connections", params=query).json()
            yield [connection_from(d) for d in page["items"]]
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]
    after: str | None = None
    while True:
        found = client.connections.page(
            service=service, level=level, search=search, after=after, limit=PAGE
        )
        yield found.items
        if found.next_after is None:
            return
        after = found.next_after


def _print_json_pages(pages: Iterable[list[ConnectionInfo]]) -> None:
    """The same text as ``print_json`` of the whole list, written a page at a time."""
    import json
    import textwrap

    first = True
    for page in pages:
        for c in page:
            item = json.dumps(_connection_json(c), indent=2, ensure_ascii=False)
            sys.stdout.write(("[\n" if first else ",\n") + textwrap.indent(item, "  "))
            first = False
        sys.stdout.flush()
    sys.stdout.write("[]\n" if first else "\n]\n")
    sys.stdout.flush()


@connections_app.command("show")
def connections_show(
    link_name: LinkName,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Show a connection with its authorizations and references (never a credential)."""
    with client_for(as_user, workspace) as client:
        _show(client.connections.get(link_name), json_)


def _show(details: ConnectionDetails, json_: bool) -> None:
    if json_:
        print_json(details.model_dump(mode="json"))
        return
    c = details
    authorizations = [
        {
            "environment": a.environment,
            "account": a.account_name,
            "status": a.status,
            "primary": a.is_primary,
            "updated_at": a.updated_at.isoformat(),
        }
        for a in details.authorizations
    ]
    out.print(f"[bold]{c.name}[/] — {c.link_name}")
    for label, value in [
        ("service", c.service + (" (deleted)" if details.service_missing else "")),
        ("level", c.level),
        ("per environment", "yes" if c.per_environment else "no"),
        ("scopes", "all" if c.all_scopes else " ".join(c.scopes) or "-"),
        ("parameters", " ".join(f"{k}={v}" for k, v in c.params.items()) or "-"),
        ("created", f"{when(c.created_at)} by {c.created_by or 'operator'}"),
        ("modified", f"{when(c.modified_at)} by {c.modified_by or 'operator'}"),
    ]:
        out.print(f"  {label:16} {value}", markup=False)
    if details.references:
        print_table(
            "References",
            ["app", "component", "name", "environment"],
            [
                (r.app, r.component_type, r.component_name, r.environment)
                for r in details.references
            ],
        )
    if not authorizations:
        out.print("  not authorized yet", markup=False)
        return
    print_table(
        "Authorizations",
        ["environment", "account", "status", "primary", "updated"],
        [
            (
                a["environment"],
                a["account"],
                a["status"],
                "yes" if a["primary"] else "",
                a["updated_at"],
            )
            for a in authorizations
        ],  # fmt: skip
    )


@connections_app.command("edit")
def connections_edit(
    link_name: LinkName,
    name: Annotated[str | None, typer.Option(help="New display name.")] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="The new full set of scopes (repeatable)."),
    ] = None,
    all_scopes: Annotated[bool, typer.Option("--all-scopes", help="Request every scope.")] = False,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Rename a connection or change its scopes (its authorizations then need re-authorizing)."""
    with client_for(as_user, workspace) as client:
        edited = client.connections.edit(link_name, name=name, scopes=scope, all_scopes=all_scopes)
    if json_:
        print_json({**_connection_json(edited.connection), "needs_reauth": edited.needs_reauth})
    else:
        reauth = edited.needs_reauth
        extra = f"; {reauth} authorization(s) now need re-authorizing" if reauth else ""
        out.print(f"Updated {edited.connection.link_name}{extra}", markup=False)


@connections_app.command("delete")
def connections_delete(
    link_name: LinkName,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Delete a connection. Refused, listing them, while app components reference it."""
    with client_for(as_user, workspace) as client:
        client.connections.delete(link_name)
    if json_:
        print_json({"deleted": link_name})
    else:
        out.print(f"Deleted connection {link_name}", markup=False)


@connections_app.command("references")
def connections_references(
    link_name: LinkName,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """List the app components that use a connection."""
    with client_for(as_user, workspace) as client:
        references = client.connections.references(link_name)
    if json_:
        print_json([r.model_dump(mode="json") for r in references])
        return
    rows = [(r.app, r.component_type, r.component_name, r.environment) for r in references]
    print_table(
        f"References of {link_name} ({len(rows)})",
        ["app", "component", "name", "environment"],
        rows,
    )
