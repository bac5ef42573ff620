"""The public SDK surface: `plugboard.__all__` and `plugboard.connect()`."""

from __future__ import annotations

import types
from pathlib import Path

import httpx2

import plugboard
from plugboard.client import LocalClient, PlugboardClient
from plugboard.crypto.keyring import Keyring, format_key
from plugboard.settings import Settings
from plugboard.store.database import Database


def test_all_is_sorted() -> None:
    assert plugboard.__all__ == sorted(plugboard.__all__)


def test_all_lists_every_public_name_and_nothing_else() -> None:
    public = {  # dir(), not vars(): the clients load on first use
        name
        for name in dir(plugboard)
        if not name.startswith("_") and not isinstance(getattr(plugboard, name), types.ModuleType)
    }
    assert set(plugboard.__all__) == public | {"__version__"}


def test_connect_opens_the_local_store_as_the_operator(
    database: Database, keyring: Keyring, tmp_path: Path
) -> None:
    settings = Settings(
        home=tmp_path,
        database_url=database.url,
        master_keys=",".join(format_key(k) for k in keyring.keys),
    )
    with plugboard.connect(settings=settings) as pb:
        assert isinstance(pb, LocalClient)
        assert isinstance(pb, PlugboardClient)
        assert pb.principal.is_operator
        assert isinstance(pb.auth("anything"), httpx2.Auth)
