"""Workspaces, users with one role per workspace, API tokens, and their audit trail (SPEC §1)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugboard.crypto.passwords import verify_password
from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR, Principal
from plugboard.errors import (
    AlreadyExists,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from plugboard.store.tables import api_tokens, audit_events, memberships, users
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime


@pytest.fixture
def acme(runtime: Runtime) -> None:
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "acme", WorkspaceKind.DEVELOPER)
        for email, role in [
            ("root@acme.test", Role.SUPER_ADMIN),
            ("admin@acme.test", Role.ADMIN),
            ("dev@acme.test", Role.DEVELOPER),
            ("user@acme.test", Role.USER),
        ]:
            identity.add_user(unit, OPERATOR, email=email, role=role, workspace="acme")


def _as(runtime: Runtime, email: str, workspace: str = "acme") -> Principal:
    with runtime.unit(write=False) as unit:
        return identity.principal_for(unit, email, workspace, via="test")


def _count(runtime: Runtime, table: object) -> int:
    with runtime.unit(write=False) as unit:
        return len(unit.conn.execute(select(table)).all())  # type: ignore[call-overload]


def test_a_member_has_one_role_per_workspace(runtime: Runtime, acme: None) -> None:
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "globex", WorkspaceKind.CLIENT)
        identity.add_user(
            unit, OPERATOR, email="dev@acme.test", role=Role.ADMIN, workspace="globex"
        )
    assert _as(runtime, "dev@acme.test", "acme").role is Role.DEVELOPER
    assert _as(runtime, "dev@acme.test", "globex").role is Role.ADMIN


def test_adding_a_member_twice_is_refused_and_changes_nothing(runtime: Runtime, acme: None) -> None:
    before = (_count(runtime, memberships), _count(runtime, audit_events))
    with pytest.raises(AlreadyExists, match="already a member"), runtime.unit() as unit:
        identity.add_user(unit, OPERATOR, email="dev@acme.test", role=Role.USER, workspace="acme")
    assert (_count(runtime, memberships), _count(runtime, audit_events)) == before


def test_a_failed_operation_leaves_the_store_as_it_was(runtime: Runtime, acme: None) -> None:
    """A new user row was written before the membership failed: the whole unit rolls back."""
    before = (_count(runtime, users), _count(runtime, audit_events))
    with pytest.raises(AlreadyExists), runtime.unit() as unit:
        identity.add_user(unit, OPERATOR, email="new@acme.test", role=Role.USER, workspace="acme")
        identity.add_user(unit, OPERATOR, email="new@acme.test", role=Role.USER, workspace="acme")
    assert (_count(runtime, users), _count(runtime, audit_events)) == before


@pytest.mark.parametrize("email", ["user@acme.test", "dev@acme.test"])
def test_users_and_developers_cannot_add_members(runtime: Runtime, acme: None, email: str) -> None:
    actor = _as(runtime, email)
    with pytest.raises(PermissionDenied), runtime.unit() as unit:
        identity.add_user(unit, actor, email="x@acme.test", role=Role.USER)


def test_an_admin_can_add_members(runtime: Runtime, acme: None) -> None:
    actor = _as(runtime, "admin@acme.test")
    with runtime.unit() as unit:
        added = identity.add_user(unit, actor, email="x@acme.test", role=Role.DEVELOPER)
    assert (added.workspace, added.status) == ("acme", "member")
    assert _as(runtime, "x@acme.test").role is Role.DEVELOPER


def test_an_admin_cannot_make_a_super_admin(runtime: Runtime, acme: None) -> None:
    actor = _as(runtime, "admin@acme.test")
    with pytest.raises(PermissionDenied), runtime.unit() as unit:
        identity.add_user(unit, actor, email="x@acme.test", role=Role.SUPER_ADMIN)


def test_a_member_cannot_reach_another_workspace_by_name(runtime: Runtime, acme: None) -> None:
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "globex", WorkspaceKind.DEVELOPER)
    actor = _as(runtime, "root@acme.test")
    with pytest.raises(NotFound), runtime.unit() as unit:
        identity.add_user(unit, actor, email="x@acme.test", role=Role.USER, workspace="globex")


def test_a_member_who_creates_a_workspace_becomes_its_super_admin(
    runtime: Runtime, acme: None
) -> None:
    actor = _as(runtime, "root@acme.test")
    with runtime.unit() as unit:
        identity.create_workspace(unit, actor, "acme-clients", WorkspaceKind.CLIENT)
    assert _as(runtime, "root@acme.test", "acme-clients").role is Role.SUPER_ADMIN


def test_only_super_admins_create_workspaces(runtime: Runtime, acme: None) -> None:
    actor = _as(runtime, "admin@acme.test")
    with pytest.raises(PermissionDenied), runtime.unit() as unit:
        identity.create_workspace(unit, actor, "elsewhere", WorkspaceKind.DEVELOPER)


def test_workspace_kind_decides_its_environments() -> None:
    from plugboard.domain.models import Environment, environments_of

    assert environments_of(WorkspaceKind.CLIENT) == (Environment.PRODUCTION,)
    assert len(environments_of(WorkspaceKind.DEVELOPER)) == 3


def test_short_password_is_refused(runtime: Runtime, acme: None) -> None:
    with pytest.raises(ValidationError) as raised, runtime.unit() as unit:
        identity.add_user(
            unit, OPERATOR, email="p@acme.test", role=Role.USER, workspace="acme", password="short"
        )
    assert raised.value.field == "password"


def test_passwords_are_stored_as_argon2_hashes(runtime: Runtime, acme: None) -> None:
    password = "correct horse battery staple"
    with runtime.unit() as unit:
        identity.add_user(
            unit, OPERATOR, email="p@acme.test", role=Role.USER, workspace="acme", password=password
        )
        stored = unit.users.password_hash("p@acme.test")
    assert stored is not None and stored.startswith("$argon2id$")
    assert password not in stored
    assert verify_password(stored, password)
    assert not verify_password(stored, password + "!")


def test_a_token_authenticates_as_its_member(runtime: Runtime, acme: None) -> None:
    with runtime.unit() as unit:
        issued = identity.create_token(unit, OPERATOR, email="dev@acme.test", workspace="acme")
    with runtime.unit() as unit:
        principal = identity.authenticate_token(unit, issued.secret)
    assert (principal.email, principal.role) == ("dev@acme.test", Role.DEVELOPER)


def test_a_token_is_stored_only_as_a_hash(runtime: Runtime, acme: None) -> None:
    with runtime.unit() as unit:
        issued = identity.create_token(unit, OPERATOR, email="dev@acme.test", workspace="acme")
    with runtime.unit(write=False) as unit:
        row = unit.conn.execute(select(api_tokens)).one()
    assert issued.secret not in str(tuple(row))
    assert issued.secret not in repr(issued)


def test_a_revoked_token_no_longer_authenticates(runtime: Runtime, acme: None) -> None:
    with runtime.unit() as unit:
        issued = identity.create_token(unit, OPERATOR, email="dev@acme.test", workspace="acme")
        identity.revoke_token(unit, OPERATOR, issued.token.id)
    with pytest.raises(AuthenticationFailed), runtime.unit() as unit:
        identity.authenticate_token(unit, issued.secret)


@pytest.mark.parametrize("secret", ["", "pbt_wrong", "Bearer pbt_x", "not-a-token"])
def test_an_unknown_token_is_refused(runtime: Runtime, acme: None, secret: str) -> None:
    with pytest.raises(AuthenticationFailed, match="invalid or revoked"), runtime.unit() as unit:
        identity.authenticate_token(unit, secret)


def test_a_member_may_create_their_own_token(runtime: Runtime, acme: None) -> None:
    actor = _as(runtime, "user@acme.test")
    with runtime.unit() as unit:
        issued = identity.create_token(unit, actor, name="laptop")
    assert issued.token.user_id == actor.user_id


def test_a_user_cannot_create_a_token_for_someone_else(runtime: Runtime, acme: None) -> None:
    actor = _as(runtime, "user@acme.test")
    with pytest.raises(PermissionDenied), runtime.unit() as unit:
        identity.create_token(unit, actor, email="dev@acme.test")


def test_a_user_cannot_create_a_token_that_acts_for_users(runtime: Runtime, acme: None) -> None:
    actor = _as(runtime, "user@acme.test")
    with pytest.raises(PermissionDenied), runtime.unit() as unit:
        identity.create_token(unit, actor, acts_for_users=True)


def test_a_user_cannot_revoke_someone_elses_token(runtime: Runtime, acme: None) -> None:
    with runtime.unit() as unit:
        issued = identity.create_token(unit, OPERATOR, email="dev@acme.test", workspace="acme")
    actor = _as(runtime, "user@acme.test")
    with pytest.raises(PermissionDenied), runtime.unit() as unit:
        identity.revoke_token(unit, actor, issued.token.id)


def test_a_token_of_another_workspace_is_not_found(runtime: Runtime, acme: None) -> None:
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "globex", WorkspaceKind.DEVELOPER)
        identity.add_user(unit, OPERATOR, email="g@globex.test", role=Role.USER, workspace="globex")
        issued = identity.create_token(unit, OPERATOR, email="g@globex.test", workspace="globex")
    actor = _as(runtime, "root@acme.test")
    with pytest.raises(NotFound), runtime.unit() as unit:
        identity.revoke_token(unit, actor, issued.token.id)


def test_every_change_is_audited_with_actor_and_object(runtime: Runtime, acme: None) -> None:
    actor = _as(runtime, "admin@acme.test")
    with runtime.unit() as unit:
        identity.add_user(unit, actor, email="x@acme.test", role=Role.DEVELOPER)
        issued = identity.create_token(unit, actor, email="x@acme.test", name="ci")
        added = unit.users.get("x@acme.test")
        events = unit.audit.list(issued.token.workspace_id, limit=2)
    assert [(e.action, e.actor, e.object_id) for e in events] == [
        ("token.create", "user:admin@acme.test", issued.token.id),
        ("user.add", "user:admin@acme.test", added.id),
    ]


def test_the_audit_log_never_holds_a_secret(runtime: Runtime, acme: None) -> None:
    password = "a-password-nobody-should-see"
    with runtime.unit() as unit:
        identity.add_user(
            unit, OPERATOR, email="p@acme.test", role=Role.USER, workspace="acme", password=password
        )
        issued = identity.create_token(unit, OPERATOR, email="p@acme.test", workspace="acme")
        unit.audit.record(
            actor="operator",
            action="test.detail",
            object_type="test",
            object_id=None,
            workspace_id=None,
            now=unit.now(),
            detail={"api_key": "sk-123", "nested": {"client_secret": "s3cr3t"}, "flag": True},
        )
    with runtime.unit(write=False) as unit:
        dump = repr(unit.conn.execute(select(audit_events)).all())
    for secret in (password, issued.secret, "sk-123", "s3cr3t"):
        assert secret not in dump
    assert "[redacted]" in dump
