"""`plugboard apps …` and `plugboard components …`: build an app in a developer workspace, grant
it to members, and manage its app access. Publishing, packages, install and app tokens are in
`cli/app_packages.py`, merged into the same `plugboard apps` group. Every command works through
the client, embedded or with `--server`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.app_packages import AppName, lifecycle_app, tokens_app
from plugboard.cli.common import AsOption, JsonOption, WorkspaceOption, client_for
from plugboard.cli.output import out, print_json, print_table, when

if TYPE_CHECKING:
    from plugboard.records import ConnectionPublic
    from plugboard.records.apps import AppDetailsPublic, PanelEntryPublic

apps_app = typer.Typer(
    help="Apps: built in a developer workspace from components that use connections, published "
    "to stage, packaged, and installed into client workspaces.",
    no_args_is_help=True,
)
access_app = typer.Typer(
    help="App access: the one app a connection is enabled for (system connections serve all).",
    no_args_is_help=True,
)
components_app = typer.Typer(
    help="Components of an app (forms, workflows, functions, pages, panels, schedules, "
    "datasources, SMS actions) and the connections and services each uses.",
    no_args_is_help=True,
)
apps_app.add_typer(lifecycle_app)
apps_app.add_typer(access_app, name="access")
apps_app.add_typer(tokens_app, name="tokens")

Kind = Annotated[
    str,
    typer.Argument(
        help="form, workflow, function, page, panel, schedule, datasource or sms_action."
    ),
]
ComponentName = Annotated[str, typer.Argument(help="The component's name.")]
EnvironmentOption = Annotated[
    str | None,
    typer.Option(
        "--environment",
        "--env",
        help="development, stage or production (default: development in a developer "
        "workspace, production in a client workspace).",
    ),
]


# -- apps ---------------------------------------------------------------------------------------


@apps_app.command("list")
def apps_list(
    workspace: WorkspaceOption = None, as_user: AsOption = None, json_: JsonOption = False
) -> None:
    """List the apps you may see (a `user` sees the apps granted to them)."""
    with client_for(as_user, workspace) as client:
        found = client.apps.list()
    if json_:
        print_json([a.model_dump(mode="json") for a in found])
        return
    print_table(
        f"Apps ({len(found)})",
        ["link name", "name", "version", "origin", "created"],
        [(a.link_name, a.name, a.version or "-", a.origin, when(a.created_at)) for a in found],
    )


@apps_app.command("show")
def apps_show(
    app: AppName,
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Show an app: its components and the connections they use, in one environment."""
    with client_for(as_user, workspace) as client:
        details = client.apps.get(app, environment=environment)
    if json_:
        print_json(details.model_dump(mode="json"))
        return
    _print_details(details)


def _print_details(d: AppDetailsPublic) -> None:
    out.print(f"[bold]{d.name}[/] — {d.link_name}")
    for label, value in [
        ("version", d.version or "not published yet"),
        ("origin", d.origin + (f" from {d.source}" if d.source else "")),
        ("environment", d.environment),
        ("created", when(d.created_at)),
    ]:
        out.print(f"  {label:12} {value}", markup=False)
    _print_components(d)
    if d.connections:
        print_table(
            "Connections used",
            ["link name", "name", "service", "level"],
            [(c.link_name, c.name, c.service, c.level) for c in d.connections],
        )


def _print_components(d: AppDetailsPublic) -> None:
    print_table(
        f"Components in {d.environment} ({len(d.components)})",
        ["kind", "name", "connections", "services", "modified"],
        [
            (
                c.kind,
                c.name,
                ", ".join(c.connections) or "-",
                ", ".join(c.services) or "-",
                when(c.modified_at),
            )
            for c in d.components
        ],  # fmt: skip
    )


@apps_app.command("create")
def apps_create(
    name: Annotated[str, typer.Argument(help="Display name, e.g. 'Property sales'.")],
    link_name: Annotated[
        str | None, typer.Option(help="The link name (default: derived from the name).")
    ] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Create an app in a developer workspace; add components next (`plugboard components put`)."""
    with client_for(as_user, workspace) as client:
        created = client.apps.create(name=name, link_name=link_name)
    if json_:
        print_json(created.model_dump(mode="json"))
    else:
        out.print(f"Created app {created.name!r} (link name {created.link_name})", markup=False)


@apps_app.command("rename")
def apps_rename(
    app: AppName,
    name: Annotated[str, typer.Argument(help="The new display name.")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Give an app a new display name (its link name stays)."""
    with client_for(as_user, workspace) as client:
        renamed = client.apps.rename(app, name=name)
    if json_:
        print_json(renamed.model_dump(mode="json"))
    else:
        out.print(f"Renamed {renamed.link_name} to {renamed.name!r}", markup=False)


@apps_app.command("delete")
def apps_delete(
    app: AppName,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Delete an app with its components and versions. Its connections stay, enabled for no app."""
    with client_for(as_user, workspace) as client:
        client.apps.delete(app)
    if json_:
        print_json({"deleted": app})
    else:
        out.print(f"Deleted app {app}", markup=False)


# -- app users and access -----------------------------------------------------------------------


@apps_app.command("grant")
def apps_grant(
    app: AppName,
    email: Annotated[str, typer.Argument(help="The member's e-mail.")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Make a member a user of the app: a `user` then sees it and its user-level connections."""
    with client_for(as_user, workspace) as client:
        changed = client.apps.grant(app, email)
    if json_:
        print_json({"app": app, "user": email, "changed": changed})
    else:
        out.print(f"{email} {'is now' if changed else 'already was'} a user of {app}", markup=False)


@apps_app.command("ungrant")
def apps_ungrant(
    app: AppName,
    email: Annotated[str, typer.Argument(help="The member's e-mail.")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Take the app away from a member."""
    with client_for(as_user, workspace) as client:
        changed = client.apps.ungrant(app, email)
    if json_:
        print_json({"app": app, "user": email, "changed": changed})
    else:
        state = "is no longer" if changed else "was not"
        out.print(f"{email} {state} a user of {app}", markup=False)


ConnectionName = Annotated[str, typer.Argument(help="The connection's link name.")]


@access_app.command("enable")
def access_enable(
    app: AppName,
    connection: ConnectionName,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Enable a connection for the app (refused when another app has it)."""
    with client_for(as_user, workspace) as client:
        conn = client.apps.enable_access(app, connection)
    _print_access(conn, f"{conn.link_name} is enabled for {app}", json_)


@access_app.command("disable")
def access_disable(
    app: AppName,
    connection: ConnectionName,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Disable a connection for the app: refused while a component references it, and once it
    was published with the app."""
    with client_for(as_user, workspace) as client:
        conn = client.apps.disable_access(app, connection)
    _print_access(conn, f"{conn.link_name} is no longer enabled for {app}", json_)


def _print_access(conn: ConnectionPublic, message: str, json_: bool) -> None:
    if json_:
        print_json(conn.model_dump(mode="json"))
    else:
        out.print(message, markup=False)


# -- running: the panel and system connections ----------------------------------------------------


@apps_app.command("panel")
def apps_panel(
    app: AppName,
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """The app's connections panel for you: each connection's status per environment, the
    account, and whether you may authorize it (or who must)."""
    with client_for(as_user, workspace) as client:
        entries = client.apps.panel(app, environment=environment)
    if json_:
        print_json([e.model_dump(mode="json") for e in entries])
        return
    print_table(
        f"Connections of {app} ({len(entries)})",
        ["link name", "service", "level", "status", "account", "you may authorize"],
        [(e.link_name, e.service_name, e.level, *_status(e)) for e in entries],
    )


def _status(e: PanelEntryPublic) -> tuple[str, str, str]:
    status = ", ".join(f"{a.environment}: {a.status}" for a in e.authorizations)
    accounts = ", ".join(sorted({a.account_name for a in e.authorizations if a.account_name}))
    return status, accounts or "-", "yes" if e.may_authorize else e.who_must_act


@apps_app.command("system-connection")
def apps_system_connection(
    app: AppName,
    service: Annotated[str, typer.Argument(help="The service's link name a component uses.")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Find the workspace's system connection for a service the app's components use, or make
    it (the first use); then it needs authorizing."""
    with client_for(as_user, workspace) as client:
        found = client.apps.system_connection(app, service)
    if json_:
        print_json(found.model_dump(mode="json"))
        return
    conn = found.connection
    verb = "Created" if found.created else "Found"
    out.print(
        f"{verb} system connection {conn.link_name} for {service} ({conn.status})", markup=False
    )
    if conn.status != "connected" and found.who_must_act:
        out.print(found.who_must_act, markup=False)


# -- components ---------------------------------------------------------------------------------


@components_app.command("put")
def components_put(
    app: AppName,
    kind: Kind,
    name: ComponentName,
    connection: Annotated[
        list[str] | None,
        typer.Option("--connection", "-c", help="A connection it uses (link name; repeatable)."),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service",
            "-s",
            help="A service it uses through the workspace's system connection (repeatable).",
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Create or replace a component in development with the connections and services it
    uses; each connection becomes enabled for the app."""
    with client_for(as_user, workspace) as client:
        component = client.apps.put_component(
            app, kind=kind, name=name, connections=connection or [], services=service or []
        )
    if json_:
        print_json(component.model_dump(mode="json"))
        return
    uses = [*component.connections, *(f"service {s}" for s in component.services)]
    out.print(
        f"Saved {component.kind} {component.name!r} of {app}; uses {', '.join(uses) or 'nothing'}",
        markup=False,
    )


@components_app.command("delete")
def components_delete(
    app: AppName,
    kind: Kind,
    name: ComponentName,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Remove a development component and the references it made."""
    with client_for(as_user, workspace) as client:
        client.apps.delete_component(app, kind=kind, name=name)
    if json_:
        print_json({"deleted": f"{kind}/{name}"})
    else:
        out.print(f"Deleted {kind} {name!r} of {app}", markup=False)


@components_app.command("list")
def components_list(
    app: AppName,
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """List an app's components in one environment."""
    with client_for(as_user, workspace) as client:
        details = client.apps.get(app, environment=environment)
    if json_:
        print_json([c.model_dump(mode="json") for c in details.components])
    else:
        _print_components(details)
