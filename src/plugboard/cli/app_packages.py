"""`plugboard apps publish|versions|package|install|import` and `plugboard apps tokens …`: an
app's way from a developer workspace to the client workspaces that run it (SPEC §6)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import AsOption, JsonOption, WorkspaceOption, client_for
from plugboard.cli.output import err, out, print_json, print_table, when

if TYPE_CHECKING:
    from plugboard.records.apps import InstallReportPublic

# Merged into `plugboard apps` (cli/apps.py): publish, versions, package, install, import.
lifecycle_app = typer.Typer()
tokens_app = typer.Typer(
    help="App tokens (pba_…): app code calls Plugboard with one, as the app.",
    no_args_is_help=True,
)

AppName = Annotated[str, typer.Argument(help="The app's link name.")]

PackageFile = Annotated[
    Path,
    typer.Argument(
        help="A package file written by `plugboard apps package` (`-` reads standard input).",
        allow_dash=True,
    ),
]


@lifecycle_app.command("publish")
def apps_publish(
    app: AppName,
    component: Annotated[
        list[str] | None,
        typer.Option(
            "--component",
            help="Publish only this component, as KIND/NAME (repeatable; default: all). The "
            "connections it references go with it.",
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Publish to stage: a numbered version of the components and the connections they use."""
    with client_for(as_user, workspace) as client:
        version = client.apps.publish(app, components=component)
    if json_:
        print_json(version.model_dump(mode="json"))
        return
    out.print(
        f"Published {app} version {version.number} to stage: {version.components} component(s), "
        f"{version.connections} connection(s); `plugboard apps package {app}` writes its file",
        markup=False,
    )


@lifecycle_app.command("versions")
def apps_versions(
    app: AppName,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """List the app's stage versions."""
    with client_for(as_user, workspace) as client:
        found = client.apps.versions(app)
    if json_:
        print_json([v.model_dump(mode="json") for v in found])
        return
    print_table(
        f"Versions of {app} ({len(found)})",
        ["version", "components", "connections", "digest", "published"],
        [(v.number, v.components, v.connections, v.digest, when(v.created_at)) for v in found],
    )


@lifecycle_app.command("package")
def apps_package(
    app: AppName,
    version: Annotated[
        int | None, typer.Option("--version", help="A stage version (default: the newest).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write it (default: ./<app>-<version>.plugboard.json; `-` for standard "
            "output).",
            allow_dash=True,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Write the package file of a stage version: its components and the definitions of its
    admin and user-level connections with a SHA-256 digest. Never a credential, never a system
    connection."""
    with client_for(as_user, workspace) as client:
        package = client.apps.package(app, version=version)
    content = json.loads(package)
    number = content["app"]["version"]
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(package)
        sys.stdout.flush()
        return
    target = output or Path(f"{content['app']['link_name']}-{number}.plugboard.json")
    target.write_bytes(package)
    if json_:
        print_json(
            {"file": str(target), "app": app, "version": number, "digest": content["digest"],
             "bytes": len(package)}
        )  # fmt: skip
    else:
        out.print(
            f"Wrote {target} ({app} version {number}); install it with "
            f"`plugboard apps install {target} --workspace CLIENT`",
            markup=False,
        )


def _read(file: Path) -> bytes:
    if str(file) == "-":
        return sys.stdin.buffer.read()
    try:
        return file.read_bytes()
    except OSError as exc:
        from plugboard.errors import ValidationError

        raise ValidationError("file", f"cannot be read: {exc.strerror or exc}") from None


@lifecycle_app.command("install")
def apps_install(
    file: PackageFile,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Install a package into a client workspace, or update the app it installed before (its
    authorizations are kept). The package is verified first; a refused one changes nothing."""
    with client_for(as_user, workspace) as client:
        report = client.apps.install(_read(file))
    if json_:
        print_json(report.model_dump(mode="json"))
    else:
        print_report(report, imported=False)


@lifecycle_app.command("import")
def apps_import(
    file: PackageFile,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Import a package into a developer workspace as a new app to build on. Link names already
    in use here get `_copy` names, and the app's components follow."""
    with client_for(as_user, workspace) as client:
        report = client.apps.import_package(_read(file))
    if json_:
        print_json(report.model_dump(mode="json"))
    else:
        print_report(report, imported=True)


def print_report(report: InstallReportPublic, *, imported: bool) -> None:
    """What an install, update or import changed, and what the admin must do next."""
    app, env = report.app, report.environment
    if imported:
        head = f"Imported {app.name!r} as {app.link_name} (version {app.version}) into {env}"
    elif report.previous_version is not None:
        head = f"Updated {app.link_name} from version {report.previous_version} to {app.version}"
    else:
        head = f"Installed {app.name!r} ({app.link_name}) version {app.version} into {env}"
    out.print(head, markup=False)
    renamed = [f"{old} -> {new}" for old, new in sorted(report.renamed.items())]
    for label, names in [
        ("added", report.added),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("needs re-authorization", report.needs_reauth),
        ("renamed copies", renamed),
        ("removed from the package (kept here)", report.removed),
        ("services created", report.services_created),
    ]:
        if names:
            out.print(f"  {label}: {', '.join(names)}", markup=False)
    todo = [*report.added, *report.needs_reauth]
    if todo:
        links = ", ".join(todo)
        err.print(
            f"Next: authorize {links} in {env} before the app runs there — admin-level "
            "connections by a super admin or admin, user-level ones by each user for "
            f"themselves: `plugboard authorize LINK --env {env}`",
            markup=False,
        )


# -- app tokens ---------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    app: AppName,
    name: Annotated[str, typer.Option(help="A name to tell the token apart.")] = "app",
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Create an app token. Its secret is printed this once: Plugboard keeps only its hash."""
    with client_for(as_user, workspace) as client:
        issued = client.apps.create_token(app, name=name)
    if json_:
        print_json(issued.model_dump(mode="json"))
        return
    out.print(f"Created app token {issued.id} ({issued.name}) for {app}:", markup=False)
    out.print(issued.secret, markup=False)
    err.print("Store it now: it is not shown again.", markup=False)


@tokens_app.command("list")
def tokens_list(
    app: AppName,
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """List an app's tokens (their prefixes, never their secrets)."""
    with client_for(as_user, workspace) as client:
        found = client.apps.tokens(app)
    if json_:
        print_json([t.model_dump(mode="json") for t in found])
        return
    print_table(
        f"Tokens of {app} ({len(found)})",
        ["id", "name", "prefix", "created", "last used", "revoked"],
        [
            (t.id, t.name, t.prefix, when(t.created_at), when(t.last_used_at), when(t.revoked_at))
            for t in found
        ],
    )


@tokens_app.command("revoke")
def tokens_revoke(
    app: AppName,
    token_id: Annotated[str, typer.Argument(help="The token's id (`apps tokens list`).")],
    workspace: WorkspaceOption = None,
    as_user: AsOption = None,
    json_: JsonOption = False,
) -> None:
    """Revoke an app token: app code using it is refused from now on."""
    with client_for(as_user, workspace) as client:
        revoked = client.apps.revoke_token(app, token_id)
    if json_:
        print_json(revoked.model_dump(mode="json"))
    else:
        out.print(f"Revoked app token {revoked.id} of {app}", markup=False)
