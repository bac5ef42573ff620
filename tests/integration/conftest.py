from __future__ import annotations

from collections.abc import Callable

import pytest

from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR, Principal
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime

ROLES = {
    "root": Role.SUPER_ADMIN,
    "admin": Role.ADMIN,
    "dev": Role.DEVELOPER,
    "user": Role.USER,
    "dev2": Role.DEVELOPER,
}

Actor = Callable[..., Principal]


@pytest.fixture
def members(runtime: Runtime) -> Actor:
    """Workspaces `acme` (developer) and `globex` (client), each with a member of every role
    (`root@acme.test`, `admin@globex.test`, …). Returns `as_(name, workspace="acme")`."""
    with runtime.unit() as unit:
        for ws, kind in (("acme", WorkspaceKind.DEVELOPER), ("globex", WorkspaceKind.CLIENT)):
            identity.create_workspace(unit, OPERATOR, ws, kind)
            for name, role in ROLES.items():
                identity.add_user(
                    unit, OPERATOR, email=f"{name}@{ws}.test", role=role, workspace=ws
                )

    def as_(name: str, workspace: str = "acme") -> Principal:
        with runtime.unit(write=False) as unit:
            return identity.principal_for(unit, f"{name}@{workspace}.test", workspace, via="test")

    return as_
