"""The viewer's notices (SPEC §5 "Telling the right person"): the list with its fix links, mark
read, mute and unmute a connection, the unread count the navigation shows, and the step that
takes a notice's link into the workspace it is about."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from plugboard.server.console.nav import NavPage, register
from plugboard.server.console.views_login import safe_next
from plugboard.server.console.web import (
    PREFIX,
    SECURITY_HEADERS,
    ConsoleRoute,
    Form,
    Viewer,
    current_viewer,
    read_form,
    redirect,
    render,
    runtime_of,
)
from plugboard.usecases.notifications import Notifications

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
ViewerDep = Annotated[Viewer, Depends(current_viewer)]
FormDep = Annotated[Form, Depends(read_form)]
PAGE_SIZE = 25
HOME = f"{PREFIX}/notifications"

register(
    NavPage(
        "notifications", "Notifications", HOME, lambda p: p.user_id is not None,
        badge_url=f"{HOME}/count",
    )
)  # fmt: skip


def _service(request: Request, viewer: Viewer) -> Notifications:
    return Notifications(runtime_of(request), viewer.principal)


def console_path(link: str) -> str:
    """A notice's link as a path on this console (the stored link is absolute, made with the
    base URL; the page links to the same path whatever host the browser used). Anything that
    is not a console path is not linked."""
    parts = urlsplit(link)
    if not parts.path.startswith(f"{PREFIX}/") or "\\" in link:
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _back(form: Form) -> str:
    """Where a write returns: this page with the viewer's filter and cursor."""
    query = {k: form.get(k) for k in ("unread", "cursor") if form.get(k)}
    return HOME + (f"?{urlencode(query)}" if query else "")


@router.get("/notifications")
def notifications_page(
    request: Request, viewer: ViewerDep, unread: bool = False, cursor: str | None = None
) -> HTMLResponse:
    service = _service(request, viewer)
    page = service.list(unread_only=unread, limit=PAGE_SIZE, cursor=cursor)
    muted = {m.connection for m in service.muted()}
    context = {
        "title": "Notifications",
        "page": page,
        "items": [(n, console_path(n.link)) for n in page.items],
        "muted": muted,
        "unread_only": unread,
        "cursor": cursor or "",
        "filters": {"unread": "1"} if unread else {},
    }
    return render(request, "console/notifications.html", context, viewer=viewer)


@router.get("/notifications/count")
def unread_count(request: Request, viewer: ViewerDep) -> HTMLResponse:
    """The badge beside the navigation entry (loaded by htmx): empty when nothing is unread."""
    count = _service(request, viewer).unread_count()
    body = Markup("")
    if count:
        body = Markup(
            '<span class="badge nav-count" id="unread-count">{n}'
            '<span class="visually-hidden"> unread</span></span>'
        ).format(n=count)
    return HTMLResponse(str(body), headers=SECURITY_HEADERS)


@router.post("/notifications/read")
def mark_all_read(request: Request, viewer: ViewerDep, form: FormDep) -> Response:
    marked = _service(request, viewer).mark_read(None)
    return redirect(_back(form), f"Marked {marked} notification{'s' * (marked != 1)} read.")


@router.post("/notifications/{notification_id}/read")
def mark_read(request: Request, viewer: ViewerDep, form: FormDep, notification_id: str) -> Response:
    marked = _service(request, viewer).mark_read([notification_id])
    return redirect(_back(form), "Marked read." if marked else None)


@router.post("/notifications/mutes/{connection}")
def mute(request: Request, viewer: ViewerDep, form: FormDep, connection: str) -> Response:
    _service(request, viewer).mute(connection)
    return redirect(_back(form), f"No more notifications about {connection}.")


@router.post("/notifications/mutes/{connection}/delete")
def unmute(request: Request, viewer: ViewerDep, form: FormDep, connection: str) -> Response:
    _service(request, viewer).unmute(connection)
    return redirect(_back(form), f"You are told about {connection} again.")


@router.get("/notifications/workspace")
def workspace_step(
    request: Request, viewer: ViewerDep, workspace: str = "", next: str = HOME
) -> Response:
    """A notice's link names the workspace it is about; a viewer in another one is asked to
    switch first (a write, so it carries the CSRF token), then sent on to the link."""
    target = safe_next(next, HOME)
    if workspace == viewer.session.workspace.name:
        return redirect(target)
    member = any(m.workspace.name == workspace for m in viewer.session.memberships)
    context = {"title": "Switch workspace", "workspace": workspace, "next": target,
               "member": member}  # fmt: skip
    return render(
        request, "console/notifications_workspace.html", context, viewer=viewer,
        status=200 if member else 404,
    )  # fmt: skip
