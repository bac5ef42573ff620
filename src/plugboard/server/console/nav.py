"""The console's navigation: one registry of pages, each shown to whoever may use it.

A new page is one :func:`register` call here beside its router,
which ``install_console`` includes; the layout lists whatever is registered, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from plugboard.domain.permissions import Action, allowed
from plugboard.domain.principal import Principal

__all__ = ["NavPage", "pages_for", "register"]


@dataclass(frozen=True, slots=True)
class NavPage:
    key: str
    label: str
    path: str
    visible: Callable[[Principal], bool]
    # A fragment (htmx, loaded after the page) shown beside the label, e.g. an unread count.
    badge_url: str | None = None


_PAGES: list[NavPage] = []


def register(page: NavPage) -> None:
    """Add a page to the navigation (idempotent by key: a re-import replaces it)."""
    for i, known in enumerate(_PAGES):
        if known.key == page.key:
            _PAGES[i] = page
            return
    _PAGES.append(page)


def pages_for(principal: Principal) -> list[NavPage]:
    return [page for page in _PAGES if page.visible(principal)]


def _may(action: Action) -> Callable[[Principal], bool]:
    return lambda principal: allowed(principal, action)


register(NavPage("connections", "Connections", "/console/connections", lambda _p: True))
register(NavPage("apps", "Apps", "/console/apps", _may(Action.VIEW_APPS)))
register(NavPage("services", "Services", "/console/services", _may(Action.VIEW_SERVICES)))
register(NavPage("audit", "Audit log", "/console/audit", _may(Action.VIEW_AUDIT)))
register(NavPage("tokens", "API tokens", "/console/tokens", _may(Action.MANAGE_OWN_TOKENS)))
