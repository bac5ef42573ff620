"""What the console's Apps pages share: the Apps service for the viewer, the environments of the
viewer's workspace, what the viewer may do with apps, and the connections a viewer may see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from plugboard.domain.models import (
    ComponentType,
    ConnectionLevel,
    Environment,
    Role,
    environments_of,
)
from plugboard.domain.permissions import Action, allowed
from plugboard.records.apps import AppDetailsPublic, ComponentPublic, PanelEntryPublic
from plugboard.server.console.web import Form, Viewer, current_viewer, read_form, runtime_of
from plugboard.usecases.app_service import Apps

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
FormDep = Annotated[Form, Depends(read_form)]

KINDS = tuple(k.value for k in ComponentType)
KIND_LABELS = {
    "form": "Form", "workflow": "Workflow", "function": "Function", "page": "Page",
    "panel": "Panel", "schedule": "Schedule", "datasource": "Datasource",
    "sms_action": "SMS action",
}  # fmt: skip
LEVEL_LABELS = {"admin": "Admin", "system": "System", "user": "Logged-in user"}


def apps_of(request: Request, viewer: Viewer) -> Apps:
    return Apps(runtime_of(request), viewer.principal)


def environments(viewer: Viewer) -> list[str]:
    """Where an app's components are shown: development and stage in a developer workspace
    (where apps are built), production in a client one (where they are installed)."""
    kinds = environments_of(viewer.session.workspace.kind)
    return [e.value for e in kinds if e is not Environment.PRODUCTION or len(kinds) == 1]


def is_developer_workspace(viewer: Viewer) -> bool:
    return viewer.session.workspace.kind.value == "developer"


def abilities(viewer: Viewer) -> dict[str, bool]:
    """What the viewer may do on the Apps pages (the usecases check again)."""
    principal = viewer.principal
    developer = is_developer_workspace(viewer)
    return {
        "may_build": allowed(principal, Action.MANAGE_APPS) and developer,
        "may_publish": allowed(principal, Action.PUBLISH_APPS) and developer,
        "may_install": allowed(principal, Action.INSTALL_APPS),
        "may_grant": allowed(principal, Action.GRANT_APPS),
        "may_tokens": allowed(principal, Action.MANAGE_APP_TOKENS),
        "is_user": principal.role is Role.USER,
    }


def visible(details: AppDetailsPublic, viewer: Viewer) -> tuple[list[Any], list[ComponentPublic]]:
    """The app's connections and components as the viewer may see them: a `user` sees only the
    logged-in-user connections (SPEC §1), so the other link names are left out of the
    components too."""
    if viewer.principal.role is not Role.USER:
        return list(details.connections), list(details.components)
    shown = [c for c in details.connections if c.level is ConnectionLevel.USER]
    names = {c.link_name for c in shown}
    components = [
        c.model_copy(update={"connections": [n for n in c.connections if n in names]})
        for c in details.components
    ]
    return shown, components


def prompt(entry: PanelEntryPublic) -> str | None:
    """What the panel says instead of an Authorize button: who must act (SPEC §4), as a
    sentence."""
    if entry.may_authorize:
        return None
    sentence = entry.who_must_act
    return sentence[:1].upper() + sentence[1:] + "."
