"""Invitations: an existing account added to a workspace joins it only when its owner accepts."""

from __future__ import annotations

from plugboard.domain.models import Invitation, Membership
from plugboard.domain.principal import Principal
from plugboard.errors import NotFound, ValidationError
from plugboard.store.unit import Unit


def _invitee(actor: Principal) -> str:
    if actor.user_id is None:
        raise ValidationError("--as", "required: invitations belong to a member")
    return actor.user_id


def list_invitations(unit: Unit, actor: Principal) -> list[Invitation]:
    """The caller's own pending invitations, to any workspace."""
    return unit.invitations.of_user(_invitee(actor))


def accept_invitation(unit: Unit, actor: Principal, invitation_id: str) -> Membership:
    """Become a member of the inviting workspace with the invited role. Only the invited
    person may: anyone else's invitation is reported as not found, like an unknown id."""
    user_id = _invitee(actor)
    invitation = unit.invitations.find(invitation_id)
    if invitation is None or invitation.user_id != user_id:
        raise NotFound("invitation", invitation_id)
    workspace = unit.workspaces.by_id(invitation.workspace_id)
    user = unit.users.by_id(user_id)
    unit.invitations.remove(invitation.id)
    membership = unit.memberships.add(workspace, user, invitation.role, unit.now())
    unit.record(
        actor=actor,
        action="invitation.accept",
        object_type="invitation",
        object_id=invitation.id,
        workspace_id=workspace.id,
        detail={"email": user.email, "role": invitation.role.value},
    )
    return membership
