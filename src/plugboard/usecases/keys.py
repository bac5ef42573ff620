"""Master key rotation: add a key, then re-seal every secret under it, in batches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from plugboard.crypto.keyring import format_key, generate_key, write_key_file
from plugboard.crypto.sealing import Sealer
from plugboard.errors import ConfigurationError
from plugboard.store import sealed
from plugboard.usecases.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Rotation:
    new_key_id: str
    resealed: int


def pending(runtime: Runtime) -> int:
    """How many sealed values are not under the newest key."""
    with runtime.unit(write=False) as unit:
        return sealed.stale_count(unit.conn, runtime.sealer)


def counts(runtime: Runtime) -> list[sealed.SealedCount]:
    with runtime.unit(write=False) as unit:
        return sealed.count_by_key(unit.conn)


def reencrypt(
    runtime: Runtime, *, batch_size: int = 500, progress: Callable[[int], None] | None = None
) -> int:
    done = sealed.reseal_all(
        runtime.database.transaction, runtime.sealer, batch_size=batch_size, progress=progress
    )
    with runtime.unit() as unit:
        unit.record(
            actor="operator",
            action="keys.reencrypt",
            object_type="keyring",
            object_id=runtime.sealer.keyring.current.id,
            workspace_id=None,
            detail={"resealed": done},
        )
    return done


def rotate(
    runtime: Runtime, *, batch_size: int = 500, progress: Callable[[int], None] | None = None
) -> Rotation:
    """Add a new key to the key file (written first, so an interrupted rotation loses nothing:
    every value still opens with the key it was sealed with), then re-seal everything."""
    keyring = runtime.sealer.keyring
    if keyring.source == "environment":
        raise ConfigurationError(
            "keys come from PLUGBOARD_MASTER_KEYS: run `plugboard keys generate`, put its output "
            "first in that variable and restart every process, then move it last (the last key "
            "encrypts) and restart every process, then run `plugboard keys reencrypt` "
            "(docs/deployment.md, Keys)"
        )
    new_key = generate_key([k.id for k in keyring.keys])
    rotated = keyring.with_new_key(new_key)
    write_key_file(runtime.settings.key_file, rotated.keys)
    runtime.sealer = Sealer(rotated)
    done = reencrypt(runtime, batch_size=batch_size, progress=progress)
    return Rotation(new_key_id=new_key.id, resealed=done)


def new_key_entry(existing_ids: list[str]) -> str:
    """A fresh key in the `id:base64` form PLUGBOARD_MASTER_KEYS takes."""
    return format_key(generate_key(existing_ids))
