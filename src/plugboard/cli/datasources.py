"""`plugboard datasources …`: the datasources of an app (SPEC §8) -- create one on a module of a
connection's service, configure and reconfigure it, enable, disable, delete it, and read the
records its syncs keep. Syncs are `plugboard sync …` (cli/sync.py). Every command works through
the client, embedded or with `--server`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import AsOption, JsonOption, WorkspaceOption, client_for
from plugboard.cli.output import out, print_json, print_table, when

if TYPE_CHECKING:
    from plugboard.client.local import LocalClient
    from plugboard.client.remote import RemoteClient
    from plugboard.records.datasources import DatasourcePublic

datasources_app = typer.Typer(
    help="Datasources: an app's link to a module (a list such as CRM deals) of a connected "
    "service, configured, then synced into records the app reads.",
    no_args_is_help=True,
)

AppName = Annotated[str, typer.Argument(help="The app's link name.")]
Name = Annotated[str, typer.Argument(help="The datasource's name (its component's name).")]
DatasourceArg = Annotated[
    str, typer.Argument(help="The datasource: its id, or APP/NAME (e.g. crm/Deals).")
]
EnvironmentOption = Annotated[
    str | None,
    typer.Option(
        "--environment",
        "--env",
        help="development, stage or production (default: development in a developer "
        "workspace, production in a client workspace).",
    ),
]


def datasource_id(client: LocalClient | RemoteClient, datasource: str) -> str:
    """The id ``datasource`` names: an id as is, or APP/NAME looked up."""
    app, slash, name = datasource.partition("/")
    if not slash:
        return datasource
    return client.datasources.get(app, name).id


def _print(d: DatasourcePublic) -> None:
    out.print(f"[bold]{d.name}[/] — {d.app} ({d.environment})  id {d.id}", highlight=False)
    last = d.last_sync
    for label, value in [
        ("connection", f"{d.connection} ({d.service})"),
        ("module", f"{d.module} — {d.module_name}"),
        ("enabled", "yes" if d.enabled else "no"),
        ("config", ", ".join(f"{k}={v}" for k, v in (d.config or {}).items()) or "-"),
        ("configure", "allowed" if d.configurable else f"refused ({d.refusal})"),
        ("last completed", when(d.last_completed_at) or "never"),
        ("last sync", f"{last.status}, {last.records_seen} records" if last else "-"),
    ]:
        out.print(f"  {label:15} {value}", markup=False)


def _show(d: DatasourcePublic, json_: bool, message: str | None = None) -> None:
    if json_:
        print_json(d.model_dump(mode="json"))
    elif message:
        out.print(message, markup=False)
    else:
        _print(d)


@datasources_app.command("list")
def datasources_list(
    app: AppName,
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """List an app's datasources in one environment, with their last completed sync."""
    with client_for(as_user, workspace) as client:
        found = client.datasources.list(app, environment=environment)
    if json_:
        print_json([d.model_dump(mode="json") for d in found])
        return
    print_table(
        f"Datasources of {app} ({len(found)})",
        ["name", "connection", "module", "enabled", "configured", "last completed", "id"],
        [
            (
                d.name,
                d.connection,
                d.module,
                "yes" if d.enabled else "no",
                "yes" if d.config is not None else "no",
                when(d.last_completed_at) or "never",
                d.id,
            )
            for d in found
        ],  # fmt: skip
    )


@datasources_app.command("show")
def datasources_show(
    app: AppName,
    name: Name,
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Show a datasource: its module, configuration, whether it may be configured, last sync."""
    with client_for(as_user, workspace) as client:
        found = client.datasources.get(app, name, environment=environment)
    _show(found, json_)


@datasources_app.command("create")
def datasources_create(
    app: AppName,
    name: Name,
    connection: Annotated[str, typer.Option(help="Link name of the connection.")],
    module: Annotated[str, typer.Option(help="A module of the connection's service.")],
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Create a datasource on the app's `datasource` component NAME (written in development;
    elsewhere it must be published or installed)."""
    with client_for(as_user, workspace) as client:
        created = client.datasources.create(
            app, name=name, connection=connection, module=module, environment=environment
        )
    _show(created, json_, f"Created datasource {created.name!r} (id {created.id})")


def _values(pairs: list[str]) -> dict[str, str]:
    from plugboard.errors import ValidationError

    values: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise ValidationError("--set", f"{pair!r} is not KEY=VALUE")
        values[key] = value
    return values


SetOption = Annotated[
    list[str], typer.Option("--set", help="A config field as KEY=VALUE (repeat for each).")
]


@datasources_app.command("configure")
def datasources_configure(
    app: AppName,
    name: Name,
    set_: SetOption,
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Configure a datasource with its module's config fields. Refused, naming the rule, unless
    the connection is authorized, has app access, the datasource is enabled and neither the
    service nor the module is deprecated."""
    with client_for(as_user, workspace) as client:
        done = client.datasources.configure(app, name, _values(set_), environment=environment)
    _show(done, json_, f"Configured {done.name!r}")


@datasources_app.command("reconfigure")
def datasources_reconfigure(
    app: AppName,
    name: Name,
    set_: SetOption,
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Change the configuration of a datasource configured before (same rules as configure)."""
    from plugboard.errors import Conflict

    with client_for(as_user, workspace) as client:
        if client.datasources.get(app, name, environment=environment).config is None:
            raise Conflict(f"{name!r} was never configured: use `configure`", {"rule": "never"})
        done = client.datasources.configure(app, name, _values(set_), environment=environment)
    _show(done, json_, f"Reconfigured {done.name!r}")


def _toggle(app: str, name: str, enable: bool, environment: str | None, workspace: str | None,
            as_user: str | None, json_: bool) -> None:  # fmt: skip
    with client_for(as_user, workspace) as client:
        api = client.datasources
        done = (api.enable if enable else api.disable)(app, name, environment=environment)
    _show(done, json_, f"{'Enabled' if enable else 'Disabled'} {done.name!r}")


@datasources_app.command("enable")
def datasources_enable(
    app: AppName,
    name: Name,
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Enable a datasource (it may then be configured and synced)."""
    _toggle(app, name, True, environment, workspace, as_user, json_)


@datasources_app.command("disable")
def datasources_disable(
    app: AppName,
    name: Name,
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Disable a datasource: it keeps its records but is neither configured nor synced."""
    _toggle(app, name, False, environment, workspace, as_user, json_)


@datasources_app.command("delete")
def datasources_delete(
    app: AppName,
    name: Name,
    environment: EnvironmentOption = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Forget a datasource with its syncs and records (the app's component stays)."""
    with client_for(as_user, workspace) as client:
        client.datasources.delete(app, name, environment=environment)
    if json_:
        print_json({"deleted": name})
    else:
        out.print(f"Deleted datasource {name!r}", markup=False)


@datasources_app.command("records")
def datasources_records(
    datasource: DatasourceArg,
    after: Annotated[
        str | None, typer.Option(help="next_cursor of the previous page (a record id).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Records per page (1 to 1000).")] = 100,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """One page of the records a datasource keeps, by record id."""
    with client_for(as_user, workspace) as client:
        page = client.datasources.records(
            datasource_id(client, datasource), after=after, limit=limit
        )
    if json_:
        print_json(page.model_dump(mode="json"))
        return
    print_table(
        f"Records ({len(page.items)})",
        ["id", "data", "updated"],
        [(r.id, r.data, when(r.updated_at)) for r in page.items],
    )
    if page.next_cursor:
        out.print(f"next page: --after {page.next_cursor}", markup=False)
