"""Non-negotiable 4: no plaintext secret in the database; a ciphertext is bound to its row."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy import select, update

from plugboard.crypto.keyring import Keyring, generate_key, read_key_file, write_key_file
from plugboard.crypto.sealing import Sealer
from plugboard.domain.models import WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.errors import DecryptionFailed
from plugboard.store.database import Database
from plugboard.store.sealed import iter_sealed_values
from plugboard.store.tables import metadata, service_clients
from plugboard.usecases import keys
from plugboard.usecases.identity import create_workspace
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.service_clients import set_service_client


def _store_secrets(runtime: Runtime, count: int) -> dict[tuple[str, str], str]:
    """Write `count` client secrets through the usecases; return (workspace, service) → secret."""
    written: dict[tuple[str, str], str] = {}
    with runtime.unit() as unit:
        for i in range(count):
            workspace = f"ws{i % 3}"
            if unit.workspaces.find(workspace) is None:
                create_workspace(unit, OPERATOR, workspace, WorkspaceKind.DEVELOPER)
            secret = f"plaintext-secret-{secrets.token_hex(12)}"
            service = f"service_{i}"
            set_service_client(
                unit,
                OPERATOR,
                service=service,
                client_id=f"client-{i}",
                client_secret=secret,
                workspace=workspace,
            )
            written[(workspace, service)] = secret
    return written


def _raw_database_bytes(database: Database) -> bytes:
    if database.backend == "sqlite":
        with database.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
        path = Path(database.url.split("///", 1)[1])
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    # PostgreSQL: a COPY dump of every table, as pg_dump would write its data.
    chunks: list[bytes] = []
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table in metadata.sorted_tables:
            with cursor.copy(f"COPY {table.name} TO STDOUT") as copy:  # type: ignore[attr-defined]
                for block in copy:
                    chunks.append(bytes(block))
    finally:
        raw.close()
    return b"".join(chunks)


def test_no_plaintext_secret_appears_in_the_raw_database(runtime: Runtime) -> None:
    written = _store_secrets(runtime, 12)
    dump = _raw_database_bytes(runtime.database)
    assert b"client-11" in dump  # the scan does see row data
    for secret in written.values():
        assert secret.encode() not in dump


def test_secrets_read_back_through_the_store(runtime: Runtime) -> None:
    written = _store_secrets(runtime, 4)
    with runtime.unit(write=False) as unit:
        for (workspace, service), secret in written.items():
            ws = unit.workspaces.get(workspace)
            assert unit.service_clients.get(ws.id, service).client_secret == secret


def test_ciphertext_copied_to_another_row_does_not_decrypt(runtime: Runtime) -> None:
    _store_secrets(runtime, 2)
    with runtime.unit() as unit:
        rows = unit.conn.execute(
            select(service_clients.c.id, service_clients.c.secrets_sealed).order_by(
                service_clients.c.id
            )
        ).all()
        (victim_id, _), (_, stolen) = rows
        unit.conn.execute(
            update(service_clients)
            .where(service_clients.c.id == victim_id)
            .values(secrets_sealed=stolen)
        )
    with runtime.unit(write=False) as unit:
        row = unit.conn.execute(
            select(service_clients).where(service_clients.c.id == victim_id)
        ).one()
        with pytest.raises(DecryptionFailed):
            unit.service_clients.get(row.workspace_id, row.service_link_name)


def test_key_rotation_reencrypts_every_secret_and_reads_each_back(runtime: Runtime) -> None:
    write_key_file(runtime.settings.key_file, runtime.sealer.keyring.keys)
    runtime.sealer = Sealer(
        Keyring(
            keys=read_key_file(runtime.settings.key_file), source=str(runtime.settings.key_file)
        )
    )
    written = _store_secrets(runtime, 25)
    old_id = runtime.sealer.keyring.current.id
    advanced: list[int] = []

    rotation = keys.rotate(runtime, batch_size=7, progress=advanced.append)

    assert rotation.resealed == 25
    assert advanced == [7, 7, 7, 4]  # batches, each its own transaction
    assert rotation.new_key_id != old_id
    assert [k.id for k in read_key_file(runtime.settings.key_file)] == [old_id, rotation.new_key_id]
    with runtime.unit(write=False) as unit:
        key_ids = {Sealer.key_id_of(value) for *_, value in iter_sealed_values(unit.conn)}
        assert key_ids == {rotation.new_key_id}
        for (workspace, service), secret in written.items():
            ws = unit.workspaces.get(workspace)
            assert unit.service_clients.get(ws.id, service).client_secret == secret


def test_secrets_sealed_with_a_key_removed_from_the_keyring_do_not_open(runtime: Runtime) -> None:
    _store_secrets(runtime, 1)
    runtime.sealer = Sealer(Keyring(keys=(generate_key(["k1"]),), source="test"))
    with runtime.unit(write=False) as unit:
        ws = unit.workspaces.get("ws0")
        with pytest.raises(DecryptionFailed, match="not in the keyring"):
            unit.service_clients.get(ws.id, "service_0")


def test_reencrypt_after_adding_an_environment_key_moves_every_secret_to_it(
    runtime: Runtime,
) -> None:
    written = _store_secrets(runtime, 5)
    keyring = runtime.sealer.keyring
    runtime.sealer = Sealer(keyring.with_new_key(generate_key([k.id for k in keyring.keys])))
    assert keys.pending(runtime) == 5
    assert keys.reencrypt(runtime) == 5
    assert keys.pending(runtime) == 0
    with runtime.unit(write=False) as unit:
        for (workspace, service), secret in written.items():
            ws = unit.workspaces.get(workspace)
            assert unit.service_clients.get(ws.id, service).client_secret == secret
