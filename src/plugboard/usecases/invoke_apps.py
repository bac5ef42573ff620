"""What an invoke made by an app token adds to resolution (SPEC §6 "App identity"), and the
stage snapshot's connection definition (SPEC §6 "Stage").

An app token reaches only its own app's connections: those enabled for the app, and the system
connections its components use. It runs for the member named by `as_user` (one the app is
granted to, or any builder or admin), or for no user: then a user-level connection uses its
primary account.
"""

from __future__ import annotations

from dataclasses import replace

from plugboard.domain.connections import Connection
from plugboard.domain.models import ConnectionLevel, Environment, Role, Workspace
from plugboard.domain.naming import check_email
from plugboard.domain.principal import Principal
from plugboard.errors import NotFound
from plugboard.store.unit import Unit
from plugboard.usecases.apps import require_app_user
from plugboard.usecases.identity import find_member


def require_app_connection(unit: Unit, actor: Principal, connection: Connection) -> None:
    """An app token sees only the connections its app uses; others are not found."""
    assert actor.app_id is not None
    if connection.app_id == actor.app_id:
        return
    if (
        connection.level is ConnectionLevel.SYSTEM
        and unit.apps.references_from_app(actor.app_id, connection.id) > 0
    ):
        return
    raise NotFound("connection", connection.link_name)


def app_calling_user(
    unit: Unit, actor: Principal, workspace: Workspace, as_user: str | None
) -> tuple[str | None, Role | None]:
    """(user id, role) an app's invoke runs for; (None, None) for "no user"."""
    if as_user is None:
        return None, None
    member = find_member(unit, workspace, check_email(as_user, "as_user"))
    require_app_user(unit, unit.apps.by_id(actor.app_id or ""), member.user.id, member.role)
    return member.user.id, member.role


def stage_definition(unit: Unit, connection: Connection, environment: Environment) -> Connection:
    """In `stage` a connection is what the newest stage version of its app published (its
    scopes, for example), not the development copy being edited."""
    if environment is not Environment.STAGE or connection.app_id is None:
        return connection
    version = unit.apps.version(connection.app_id)
    if version is None:
        return connection
    for published in version.snapshot.get("connections", []):
        if isinstance(published, dict) and published.get("link_name") == connection.link_name:
            return replace(
                connection,
                name=str(published["name"]),
                scopes=tuple(published.get("scopes", ())),
                all_scopes=bool(published.get("all_scopes", False)),
                dynamic_values=dict(published.get("params", {})),
            )
    return connection
