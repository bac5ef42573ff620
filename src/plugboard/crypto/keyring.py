"""Versioned master keys. Encrypt with the newest, decrypt with any known one. Fail closed.

Sources, in order: `PLUGBOARD_MASTER_KEYS` (`id:base64,id:base64`, the last one newest), else the
key file `<home>/master.keys` (JSON, mode 0600, created by `plugboard init`). With neither, every
command but `init` refuses to start: there is no plaintext fallback.

A keyring read from the key file remembers the file (`KeyFile`), so a running process can read it
again when another process (`plugboard keys rotate`) has added a key: see `Sealer`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from plugboard.errors import ConfigurationError, MasterKeyMissing, ValidationError

KEY_BYTES = 32  # AES-256
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True, slots=True)
class MasterKey:
    id: str
    material: bytes = field(repr=False)
    created_at: str = ""

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.id):
            raise ValidationError("master_keys", "key ids are 1-32 of A-Z a-z 0-9 _ -")
        if len(self.material) != KEY_BYTES:
            raise ValidationError(
                "master_keys", f"key {self.id!r} must be {KEY_BYTES} bytes (base64 of 32 bytes)"
            )


@dataclass(frozen=True, slots=True)
class Keyring:
    """The known keys, oldest first. The newest key encrypts; every key can decrypt."""

    keys: tuple[MasterKey, ...]
    source: str  # "environment" or the key file's path, for messages
    file: KeyFile | None = None  # where the keys were read from, to read again after a rotation

    def __post_init__(self) -> None:
        if not self.keys:
            raise MasterKeyMissing("the keyring is empty")
        ids = [k.id for k in self.keys]
        if len(set(ids)) != len(ids):
            raise ValidationError("master_keys", "key ids must be unique")

    @property
    def current(self) -> MasterKey:
        return self.keys[-1]

    def get(self, key_id: str) -> MasterKey | None:
        for key in self.keys:
            if key.id == key_id:
                return key
        return None

    def with_new_key(self, key: MasterKey) -> Keyring:
        return Keyring(keys=(*self.keys, key), source=self.source, file=self.file)


def generate_key(existing_ids: Sequence[str] = ()) -> MasterKey:
    """A fresh random key with the next free id `k1`, `k2`, …"""
    n = 1
    while f"k{n}" in existing_ids:
        n += 1
    return MasterKey(
        id=f"k{n}",
        material=secrets.token_bytes(KEY_BYTES),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def parse_key_list(value: str) -> tuple[MasterKey, ...]:
    keys = []
    for index, item in enumerate(part.strip() for part in value.split(",") if part.strip()):
        key_id, sep, encoded = item.partition(":")
        if not sep:
            raise ValidationError(
                f"master_keys[{index}]", "each entry must be key_id:base64key (no value shown)"
            )
        try:
            material = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(
                f"master_keys[{index}]", f"key {key_id!r} is not valid base64"
            ) from None
        keys.append(MasterKey(id=key_id, material=material))
    return tuple(keys)


def format_key(key: MasterKey) -> str:
    """`id:base64` — the form `PLUGBOARD_MASTER_KEYS` takes."""
    return f"{key.id}:{base64.b64encode(key.material).decode()}"


def read_key_file(path: Path) -> tuple[MasterKey, ...]:
    try:
        data = json.loads(path.read_text())
        return tuple(
            MasterKey(
                id=item["id"],
                material=base64.b64decode(item["key"], validate=True),
                created_at=item.get("created_at", ""),
            )
            for item in data["keys"]
        )
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ConfigurationError(
            f"key file {path} is unreadable or malformed ({type(exc).__name__})"
        ) from None


def write_key_file(path: Path, keys: Sequence[MasterKey]) -> None:
    """Write atomically with mode 0600 from the start: the file never exists world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "keys": [
            {"id": k.id, "key": base64.b64encode(k.material).decode(), "created_at": k.created_at}
            for k in keys
        ]
    }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(payload, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class KeyFile:
    """The key file a keyring came from, and the version of it that was read."""

    path: Path
    version: tuple[int, int, int] = (0, 0, 0)  # inode, size, mtime in ns

    def changed(self) -> bool:
        return _version(self.path) != self.version

    def load(self) -> Keyring:
        """Read the file again (same checks as at start-up)."""
        return _read_checked(self.path)


def _version(path: Path) -> tuple[int, int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, 0, 0)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _read_checked(key_file: Path) -> Keyring:
    mode = key_file.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigurationError(
            f"key file {key_file} is readable by others (mode {mode:o}); run chmod 600 on it"
        )
    version = _version(key_file)
    return Keyring(
        keys=read_key_file(key_file), source=str(key_file), file=KeyFile(key_file, version)
    )


def load_keyring(master_keys: str | None, key_file: Path) -> Keyring:
    """The keyring from the environment value, else the key file; raise when there is none."""
    if master_keys:
        return Keyring(keys=parse_key_list(master_keys), source="environment")
    if key_file.exists():
        return _read_checked(key_file)
    raise MasterKeyMissing(
        "no master key: set PLUGBOARD_MASTER_KEYS or run `plugboard init` to create "
        f"{key_file}; Plugboard never stores credentials unencrypted"
    )
