from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from plugboard.crypto.keyring import (
    format_key,
    generate_key,
    load_keyring,
    read_key_file,
    write_key_file,
)
from plugboard.errors import ConfigurationError, MasterKeyMissing, ValidationError


def test_no_key_configured_and_no_key_file_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyMissing, match="never stores credentials unencrypted"):
        load_keyring(None, tmp_path / "master.keys")


def test_key_file_is_written_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "home" / "master.keys"
    write_key_file(path, [generate_key()])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_key_file_round_trips(tmp_path: Path) -> None:
    keys = [generate_key(), generate_key(["k1"])]
    write_key_file(tmp_path / "master.keys", keys)
    assert read_key_file(tmp_path / "master.keys") == tuple(keys)


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.keys"
    write_key_file(path, [generate_key()])
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_keyring(None, path)


def test_environment_keys_take_precedence_over_the_key_file(tmp_path: Path) -> None:
    write_key_file(tmp_path / "master.keys", [generate_key()])
    env_key = generate_key(["k1", "k2", "k3"])
    keyring = load_keyring(format_key(env_key), tmp_path / "master.keys")
    assert keyring.source == "environment"
    assert (keyring.current.id, keyring.current.material) == (env_key.id, env_key.material)


def test_last_listed_environment_key_encrypts(tmp_path: Path) -> None:
    first, second = generate_key(), generate_key(["k1"])
    keyring = load_keyring(f"{format_key(first)}, {format_key(second)}", tmp_path / "none")
    assert keyring.current.id == second.id
    found = keyring.get(first.id)
    assert found is not None and found.material == first.material


def test_malformed_environment_entry_names_its_position_not_its_value(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as raised:
        load_keyring("k1:not*base64", tmp_path / "none")
    assert raised.value.field == "master_keys[0]"
    assert "not*base64" not in str(raised.value)


def test_key_of_the_wrong_length_is_refused(tmp_path: Path) -> None:
    short = base64.b64encode(b"x" * 16).decode()
    with pytest.raises(ValidationError, match="32 bytes"):
        load_keyring(f"k1:{short}", tmp_path / "none")


def test_duplicate_key_ids_are_refused(tmp_path: Path) -> None:
    key = generate_key()
    with pytest.raises(ValidationError, match="unique"):
        load_keyring(f"{format_key(key)},{format_key(key)}", tmp_path / "none")


def test_key_material_is_not_in_the_repr() -> None:
    key = generate_key()
    assert base64.b64encode(key.material).decode() not in repr(key)
    assert key.material.hex() not in repr(key)
