"""The `plugboard` command: sub-command groups, and one-line errors instead of tracebacks."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from plugboard._version import __version__
from plugboard.cli import (
    admin,
    apps,
    authorizations,
    authorize,
    common,
    connections,
    datasources,
    identity,
    invoke,
    jobs,
    notifications,
    packages,
    services,
    sync,
    webhooks,
)

app = typer.Typer(
    name="plugboard",
    help="Plugboard: a self-hosted connections broker. Start with `plugboard init`, then "
    "`plugboard serve`. Configuration comes from PLUGBOARD_* environment variables "
    "(see README).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help and usage errors: rich's help renderer (markdown and syntax highlighting)
    # costs more than the rest of `plugboard --help` together.
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},
)
app.command("init")(admin.init)
app.command("serve")(admin.serve)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.keys_app, name="keys")
app.add_typer(identity.workspaces_app, name="workspaces")
app.add_typer(identity.users_app, name="users")
app.add_typer(identity.tokens_app, name="tokens")
app.command("invoke")(invoke.invoke)
app.add_typer(services.services_app, name="services")
app.add_typer(connections.connections_app, name="connections")
app.command("authorize")(authorize.authorize)
app.add_typer(authorizations.authorizations_app, name="authorizations")
app.add_typer(apps.apps_app, name="apps")
app.add_typer(apps.components_app, name="components")
app.command("worker")(jobs.worker)
app.add_typer(jobs.jobs_app, name="jobs")
app.add_typer(notifications.notifications_app, name="notifications")
app.add_typer(packages.packages_app, name="packages")
app.add_typer(datasources.datasources_app, name="datasources")
app.add_typer(sync.sync_app, name="sync")
app.add_typer(webhooks.webhooks_app, name="webhooks")


def _version(value: bool) -> None:
    if value:
        print(f"plugboard {__version__}")
        raise typer.Exit()


# Commands that set up or run the server itself: never through --server.
ADMINISTRATIVE = frozenset(
    {
        "init",
        "serve",
        "db",
        "keys",
        "workspaces",
        "users",
        "tokens",
        "worker",
        "jobs",
    }
)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="PLUGBOARD_SERVER",
            help="Run app-developer commands (invoke, connections, services, authorize, "
            "authorizations, apps, components) against this Plugboard server's REST API instead "
            "of the local store, e.g. https://plugboard.example.com.",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="PLUGBOARD_TOKEN",
            help="API token for --server (the token decides who acts; --as is local only).",
        ),
    ] = None,
) -> None:
    common.set_remote(None)
    if not server:
        return
    command = ctx.invoked_subcommand or ""
    if command in ADMINISTRATIVE:
        common.set_remote(common.RemoteTarget(server, token or ""))
        common.refuse_remote(command)
    if not token:
        from plugboard.cli.output import err

        err.print("error: --server needs --token (or PLUGBOARD_TOKEN)", markup=False)
        sys.exit(2)
    common.set_remote(common.RemoteTarget(server, token))


def _click_exception_type() -> type[Exception]:
    """Click's base exception: Typer ≥ 0.23 vendors click (``typer._click``), older ones use it."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - an older Typer, on the real click
        import click.exceptions as exceptions  # type: ignore[no-redef]
    found: type[Exception] = exceptions.ClickException
    return found


def _usage_error(exc: Exception) -> int:
    """Print a click usage error as click does without the usage block: one ``Error:`` line and
    a ``Try '… --help'`` hint (the help itself when a group is run without a command)."""
    code = int(getattr(exc, "exit_code", 2))
    if type(exc).__name__ == "NoArgsIsHelpError":
        print(getattr(exc, "format_message", lambda: str(exc))(), file=sys.stderr)
        return code
    message = getattr(exc, "format_message", lambda: str(exc))()
    print(f"Error: {message}", file=sys.stderr)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.help_option_names:
        print(f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.", file=sys.stderr)
    elif code == 2:
        print("Try 'plugboard --help' for help.", file=sys.stderr)
    return code


def run() -> None:
    """Entry point: a domain error becomes one line on stderr and exit status 1; a usage error
    (unknown command or option, missing or bad value) one line plus a hint, and exit status 2."""
    from plugboard.errors import PlugboardError

    try:
        # With standalone_mode off, click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False, prog_name="plugboard")
    except PlugboardError as exc:
        print(f"error: {exc.message} [{exc.code}]", file=sys.stderr)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here with standalone_mode=False
        if isinstance(exc, _click_exception_type()):
            sys.exit(_usage_error(exc))
        raise
    sys.exit(code if isinstance(code, int) else 0)
