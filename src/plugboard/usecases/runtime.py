"""The running system for one process: settings, database, sealer, clock and outbound stack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from plugboard.auth.outbound_stack import Outbound
from plugboard.crypto.keyring import load_keyring
from plugboard.crypto.sealing import Sealer
from plugboard.domain.clock import Clock, SystemClock
from plugboard.errors import StoreNotInitialized, StoreUnavailable
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.store.unit import Unit


@dataclass
class Runtime:
    settings: Settings
    database: Database
    sealer: Sealer
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def outbound(self) -> Outbound:
        """The process's outbound stack (the settings' allowlist, the system's resolver and CA
        bundle) that everything which sends builds its clients from."""
        return Outbound(
            self.settings.outbound_allowlist_entries,
            dns_cache_seconds=self.settings.dns_cache_seconds,
        )

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        database: Database | None = None,
        require_current_schema: bool = True,
    ) -> Runtime:
        """Fail closed: raises MasterKeyMissing before touching the database if there is no key."""
        keyring = load_keyring(
            settings.master_keys.get_secret_value() if settings.master_keys else None,
            settings.key_file,
        )
        db = database or Database(settings.resolved_database_url)
        runtime = cls(settings, db, Sealer(keyring), clock or SystemClock())
        if require_current_schema:
            runtime.check_schema()
        return runtime

    def check_schema(self) -> None:
        state = self.database.state()
        if not state.reachable:
            raise StoreUnavailable(f"cannot reach the {state.backend} database: {state.error}")
        if state.revision is None:
            raise StoreNotInitialized(
                "the database has no Plugboard schema: run `plugboard init` "
                "(or `plugboard db upgrade` for an existing key)"
            )
        if state.revision != state.head:
            raise StoreNotInitialized(
                f"the database schema is at {state.revision}, this Plugboard needs {state.head}: "
                "run `plugboard db upgrade`"
            )

    @contextmanager
    def unit(self, *, write: bool = True) -> Iterator[Unit]:
        with self.database.transaction(write=write) as conn:
            unit = Unit(conn, self.sealer, self.clock)
            yield unit
        unit.run_after_commit()

    def close(self) -> None:
        self.database.dispose()
