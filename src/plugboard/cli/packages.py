"""`plugboard packages …`: package files on their own. `verify` reads one without touching any
store (what install would refuse, it refuses, naming the field); `install` and `import` are the
same commands as under `plugboard apps`."""

from __future__ import annotations

import typer

from plugboard.cli.app_packages import PackageFile, _read, apps_import, apps_install
from plugboard.cli.common import JsonOption
from plugboard.cli.output import out, print_json, print_table

packages_app = typer.Typer(
    help="Package files: verify one, install it into a client workspace, or import it.",
    no_args_is_help=True,
)
packages_app.command("install")(apps_install)
packages_app.command("import")(apps_import)


@packages_app.command("verify")
def packages_verify(file: PackageFile, json_: JsonOption = False) -> None:
    """Check a package file (digest, format, no credential, no system connection) and show what
    it holds. Reads nothing but the file; exits non-zero when install would refuse it."""
    from plugboard.domain.packages import read_package

    content = read_package(_read(file))
    if json_:
        print_json(content.model_dump(mode="json"))
        return
    app = content.app
    out.print(f"{app.name} ({app.link_name}) version {app.version} from {app.source}: digest ok")
    print_table(
        "Connections",
        ["link name", "service", "level", "scopes"],
        [(c.link_name, c.service, c.level, " ".join(c.scopes)) for c in content.connections],
    )
    print_table(
        "Components",
        ["kind", "name", "connections", "services"],
        [
            (c.kind.value, c.name, ", ".join(c.connections), ", ".join(c.services))
            for c in content.components
        ],
    )
