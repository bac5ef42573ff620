"""First start: home folder, master key, schema, the default workspace and its super admin."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from plugboard.crypto.keyring import generate_key, write_key_file
from plugboard.domain.clock import Clock
from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.errors import Conflict
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime

DEFAULT_ADMIN_EMAIL = "admin@plugboard.local"


@dataclass(frozen=True, slots=True)
class Login:
    """What `init` prints once: the only time the password and token are ever shown."""

    workspace: str
    email: str
    password: str
    token: str

    def __repr__(self) -> str:
        return f"Login(workspace={self.workspace!r}, email={self.email!r}, secrets='[shown once]')"


@dataclass(frozen=True, slots=True)
class InitResult:
    created_key_file: bool
    login: Login | None  # None when the store already had a super admin


def ensure_key(settings: Settings) -> bool:
    """Create the key file unless keys come from the environment or the file exists."""
    if settings.master_keys or settings.key_file.exists():
        return False
    settings.home.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o700)
    write_key_file(settings.key_file, [generate_key()])
    return True


def initialize(
    settings: Settings,
    *,
    admin_email: str = DEFAULT_ADMIN_EMAIL,
    if_new: bool = False,
    clock: Clock | None = None,
    database: Database | None = None,
) -> InitResult:
    """Idempotent set-up. With `if_new`, an initialized store is not an error (for `make run`)."""
    created_key = ensure_key(settings)
    db = database or Database(settings.resolved_database_url)
    db.upgrade()
    runtime = Runtime.open(settings, clock=clock, database=db)
    try:
        with runtime.unit() as unit:
            if unit.memberships.count_with_role(Role.SUPER_ADMIN) > 0:
                if if_new:
                    return InitResult(created_key_file=created_key, login=None)
                raise Conflict(
                    "Plugboard is already initialized here; create another login with "
                    "`plugboard tokens create --email EMAIL`"
                )
            workspace = unit.workspaces.find(identity.DEFAULT_WORKSPACE)
            if workspace is None:
                workspace = identity.create_workspace(
                    unit, OPERATOR, identity.DEFAULT_WORKSPACE, WorkspaceKind.DEVELOPER
                )
            password = secrets.token_urlsafe(18)
            identity.add_user(
                unit,
                OPERATOR,
                email=admin_email,
                role=Role.SUPER_ADMIN,
                workspace=workspace.name,
                name="Admin",
                password=password,
            )
            issued = identity.create_token(
                unit, OPERATOR, email=admin_email, workspace=workspace.name, name="init"
            )
    finally:
        if database is None:  # also when already initialized: no connection left open
            runtime.close()
    return InitResult(
        created_key_file=created_key,
        login=Login(workspace.name, admin_email, password, issued.secret),
    )
