"""`plugboard init|serve|db|keys` — setting up and running the store and server."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from plugboard.cli.common import JsonOption, open_runtime
from plugboard.cli.output import err, out, print_json, print_table

if TYPE_CHECKING:
    from rich.progress import Progress

    from plugboard.settings import Settings
    from plugboard.store.database import Database

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
keys_app = typer.Typer(help="Master keys: status, rotation, re-encryption.", no_args_is_help=True)


def init(
    admin_email: Annotated[
        str, typer.Option(help="E-mail of the first super admin.")
    ] = "admin@plugboard.local",
    if_new: Annotated[
        bool,
        typer.Option("--if-new", help="Do nothing (and succeed) when already initialized."),
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Create the key file, the schema, the `default` workspace and a super admin; print its login.

    The login (e-mail, password, API token) is printed once and never stored in plaintext.
    """
    from plugboard.settings import Settings
    from plugboard.usecases.setup import initialize

    settings = Settings()
    result = initialize(settings, admin_email=admin_email, if_new=if_new)
    if json_:
        login = result.login
        print_json(
            {
                "created_key_file": result.created_key_file,
                "login": None
                if login is None
                else {
                    "workspace": login.workspace,
                    "email": login.email,
                    "password": login.password,
                    "token": login.token,
                },
            }
        )
        return
    if result.created_key_file:
        out.print(
            f"Created master key file {settings.key_file} (mode 600). Back it up: without "
            "it the stored credentials cannot be read."
        )
    if result.login is None:
        out.print(
            f"Plugboard is already initialized in {settings.home}; the first login was printed "
            "then. A new API token: `plugboard tokens create --email EMAIL`.",
            markup=False,
        )
        return
    login = result.login
    out.print("Plugboard is ready. First super admin login (shown only now):")
    out.print(f"  workspace: {login.workspace}", markup=False)
    out.print(f"  e-mail:    {login.email}", markup=False)
    out.print(f"  password:  {login.password}", markup=False)
    out.print(f"  API token: {login.token}", markup=False)
    out.print(
        "  (send the token as `Authorization: Bearer <token>`; it is stored only as a hash)",
        markup=False,
    )
    out.print(
        f"Log in to the console at {settings.base_url}/console with that e-mail and password.",
        markup=False,
    )
    out.print(f"Check the server with: curl {settings.base_url}/health", markup=False)


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (PLUGBOARD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PLUGBOARD_PORT).")] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Also serve the bundled test provider at /demo, with a `demo_provider` service "
            "in the default workspace (for trying Plugboard on one machine; not for production).",
        ),
    ] = False,
    json_: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print where the server listens as one JSON line on stdout before serving.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes sharing HOST:PORT (more than 1 only with PostgreSQL: the "
            "embedded SQLite store has a single writer).",
        ),
    ] = 1,
) -> None:
    """Upgrade the database schema, then serve the API on HOST:PORT."""
    import uvicorn

    from plugboard.crypto.keyring import load_keyring
    from plugboard.server.app import AppExtension, create_app, served_app
    from plugboard.server.serving import server_config
    from plugboard.settings import Settings
    from plugboard.store.database import Database

    settings = Settings()
    if workers > 1:
        _check_workers(settings, demo)
    # Fail closed before anything else touches the database.
    load_keyring(
        settings.master_keys.get_secret_value() if settings.master_keys else None,
        settings.key_file,
    )
    Database(settings.resolved_database_url).upgrade()
    bind_host, bind_port = host or settings.host, port or settings.port
    if "base_url" not in settings.model_fields_set:
        # Unless told otherwise, callbacks come back to where we listen.
        settings = settings.model_copy(update={"base_url": f"http://{bind_host}:{bind_port}"})
    extensions: list[AppExtension] = []
    if demo:
        from plugboard.testing.demo import mount_demo_provider

        settings = _with_demo_allowances(settings)
        extensions.append(mount_demo_provider)
    if json_:
        import json

        listening = f"http://{bind_host}:{bind_port}"
        print(
            json.dumps(
                {
                    "listening": listening,
                    "base_url": settings.base_url,
                    "health": f"{listening}/health",
                    "docs": f"{listening}/docs",
                    "demo_provider": f"{settings.base_url}/demo" if demo else None,
                }
            ),
            flush=True,
        )
    err.print(
        f"Plugboard serving on http://{bind_host}:{bind_port} (console: {settings.base_url}"
        "/console, health: /health, API docs: /docs)"
    )
    if demo:
        err.print(f"Demo provider at {settings.base_url}/demo (service `demo_provider`)")
    if workers > 1:
        import os

        from plugboard.server.serving import serve_workers

        # Each worker reads its settings from the environment (server/workers.py).
        os.environ["PLUGBOARD_BASE_URL"] = settings.base_url
        serve_workers(settings, bind_host, bind_port, workers)
        return
    app = served_app(create_app(settings, extensions=extensions))
    uvicorn.Server(server_config(app, settings, bind_host, bind_port)).run()


def _check_workers(settings: Settings, demo: bool) -> None:
    from plugboard.errors import ValidationError

    if settings.resolved_database_url.startswith("sqlite"):
        raise ValidationError(
            "--workers",
            "must be 1 with the embedded SQLite store, which has a single writer; serve more "
            "workers with PostgreSQL (PLUGBOARD_DATABASE_URL)",
        )
    if demo:
        raise ValidationError("--workers", "must be 1 with --demo (one process serves it)")


def _with_demo_allowances(settings: Settings) -> Settings:
    """The demo provider lives on this server's own (loopback, plain http) address, which
    Plugboard refuses by default; allow exactly that host, for this process only."""
    from urllib.parse import urlsplit

    host = urlsplit(settings.base_url).hostname or "127.0.0.1"

    def add(current: str) -> str:
        entries = [e.strip() for e in current.split(",") if e.strip()]
        return ",".join(entries if host in entries else [*entries, host])

    return settings.model_copy(
        update={
            "outbound_allowlist": add(settings.outbound_allowlist),
            "allow_http_hosts": add(settings.allow_http_hosts),
        }
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    json_: JsonOption = False,
) -> None:
    """Migrate the database schema forward (to the newest by default)."""
    runtime = open_database()
    runtime.upgrade(revision)
    if runtime.backend == "postgresql":  # the job queue's own schema (docs/operations.md)
        from plugboard.jobs.pg import ensure_schema

        ensure_schema(runtime.url)
    state = runtime.state()
    if json_:
        print_json({"backend": runtime.backend, "revision": state.revision, "head": state.head})
        return
    out.print(f"Database at {state.revision} ({runtime.backend})")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: data in dropped tables is lost.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Migrate the database schema back. Destroys data in dropped tables."""
    from plugboard.errors import ValidationError

    if not yes:
        raise ValidationError("--yes", "downgrade drops data; pass --yes to confirm")
    database = open_database()
    database.downgrade(revision)
    state = database.state()
    if json_:
        print_json({"backend": database.backend, "revision": state.revision, "head": state.head})
        return
    out.print(f"Database at {state.revision or 'base'} ({database.backend})")


@db_app.command("status")
def db_status(json_: JsonOption = False) -> None:
    """Show the database backend, its schema revision and the newest one."""
    state = open_database().state()
    if json_:
        print_json(state)
        return
    out.print(
        f"backend: {state.backend}\nreachable: {state.reachable}\n"
        f"revision: {state.revision}\nhead: {state.head}"
    )


def open_database() -> Database:
    """Migrations need the key too: a store nobody can decrypt is not worth migrating."""
    from plugboard.crypto.keyring import load_keyring
    from plugboard.settings import Settings
    from plugboard.store.database import Database

    settings = Settings()
    load_keyring(
        settings.master_keys.get_secret_value() if settings.master_keys else None,
        settings.key_file,
    )
    return Database(settings.resolved_database_url)


@keys_app.command("status")
def keys_status(json_: JsonOption = False) -> None:
    """Show the known key ids, which one encrypts, and how many secrets each one seals."""
    from plugboard.usecases import keys

    runtime = open_runtime()
    try:
        counts = keys.counts(runtime)
        keyring = runtime.sealer.keyring
    finally:
        runtime.close()
    if json_:
        print_json(
            {
                "source": keyring.source,
                "current": keyring.current.id,
                "keys": [k.id for k in keyring.keys],
                "sealed": counts,
            }
        )
        return
    out.print(f"Keys from {keyring.source}; encrypting with {keyring.current.id}")
    print_table(
        "Sealed values by key",
        ["table", "column", *[k.id for k in keyring.keys]],
        [(c.table, c.column, *[c.by_key.get(k.id, 0) for k in keyring.keys]) for c in counts],
    )


def _progress_run(total: int, label: str) -> tuple[Progress, Callable[[int], None]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    )
    task = progress.add_task(label, total=total)

    def advance(n: int) -> None:
        progress.advance(task, n)

    return progress, advance


@keys_app.command("rotate")
def keys_rotate(
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Values per transaction.")
    ] = 500,
    json_: JsonOption = False,
) -> None:
    """Add a new key to the key file and re-encrypt every secret with it, in batches."""
    from plugboard.usecases import keys

    runtime = open_runtime()
    try:
        total = sum(sum(c.by_key.values()) for c in keys.counts(runtime))
        progress, advance = _progress_run(total, "re-encrypting")
        with progress:
            rotation = keys.rotate(runtime, batch_size=batch_size, progress=advance)
    finally:
        runtime.close()
    if json_:
        print_json({"new_key_id": rotation.new_key_id, "reencrypted": rotation.resealed})
        return
    out.print(
        f"New key {rotation.new_key_id} encrypts from now on; "
        f"re-encrypted {rotation.resealed} secrets."
    )


@keys_app.command("reencrypt")
def keys_reencrypt(
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Values per transaction.")
    ] = 500,
    json_: JsonOption = False,
) -> None:
    """Re-encrypt every secret not yet sealed with the newest key (after adding a key by hand)."""
    from plugboard.usecases import keys

    runtime = open_runtime()
    try:
        progress, advance = _progress_run(keys.pending(runtime), "re-encrypting")
        with progress:
            done = keys.reencrypt(runtime, batch_size=batch_size, progress=advance)
    finally:
        runtime.close()
    if json_:
        print_json({"key_id": runtime.sealer.keyring.current.id, "reencrypted": done})
        return
    out.print(f"Re-encrypted {done} secrets with key {runtime.sealer.keyring.current.id}.")


@keys_app.command("generate")
def keys_generate(json_: JsonOption = False) -> None:
    """Print a new random key as `id:base64`, for PLUGBOARD_MASTER_KEYS (append it last)."""
    import os

    from plugboard.crypto.keyring import parse_key_list
    from plugboard.usecases.keys import new_key_entry

    existing = os.environ.get("PLUGBOARD_MASTER_KEYS", "")
    ids = [k.id for k in parse_key_list(existing)] if existing else []
    entry = new_key_entry(ids)
    if json_:
        print_json({"id": entry.partition(":")[0], "entry": entry})
        return
    out.print(entry, markup=False)
