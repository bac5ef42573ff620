"""The remote client's ``apps``: the REST API's /apps and /packages, decoded into the same
records the embedded client returns (:mod:`plugboard.records.apps`)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from plugboard.records import ConnectionPublic
from plugboard.records.apps import (
    AppDetailsPublic,
    AppPublic,
    AppTokenIssued,
    AppTokenPublic,
    AppUserPublic,
    AppVersionPublic,
    ComponentPublic,
    InstallReportPublic,
    PanelEntryPublic,
    SystemConnectionPublic,
)

if TYPE_CHECKING:
    from plugboard.client.remote import RemoteClient

__all__ = ["RemoteApps"]

PACKAGE_CONTENT_TYPE = "application/octet-stream"


def _seg(value: str) -> str:
    """One path segment: an e-mail or a name may hold characters a path may not."""
    return quote(value, safe="")


class RemoteApps:
    def __init__(self, client: RemoteClient) -> None:
        self._c = client

    # -- apps -------------------------------------------------------------------------------------

    def list(
        self, *, after: str | None = None, limit: int | None = None
    ) -> builtins.list[AppPublic]:
        """The apps you may see by link name: those after ``after``, at most ``limit``."""
        found = [AppPublic.model_validate(d) for d in self._c._pages("/apps", {})]
        kept = [a for a in found if after is None or a.link_name > after]
        return kept if limit is None else kept[:limit]

    def get(self, app: str, *, environment: str | None = None) -> AppDetailsPublic:
        query = {"environment": environment} if environment is not None else {}
        d = self._c.request("GET", f"/apps/{_seg(app)}", params=query).json()
        return AppDetailsPublic.model_validate(d)

    def create(self, *, name: str, link_name: str | None = None) -> AppPublic:
        body = {"name": name, "link_name": link_name}
        return AppPublic.model_validate(self._c.request("POST", "/apps", json=body).json())

    def rename(self, app: str, *, name: str) -> AppPublic:
        answer = self._c.request("PATCH", f"/apps/{_seg(app)}", json={"name": name})
        return AppPublic.model_validate(answer.json())

    def delete(self, app: str) -> None:
        self._c.request("DELETE", f"/apps/{_seg(app)}")

    # -- components, app access, app users --------------------------------------------------------

    def put_component(
        self,
        app: str,
        *,
        kind: str,
        name: str,
        connections: Sequence[str] = (),
        services: Sequence[str] = (),
    ) -> ComponentPublic:
        body = {"connections": list(connections), "services": list(services)}
        path = f"/apps/{_seg(app)}/components/{_seg(kind)}/{_seg(name)}"
        return ComponentPublic.model_validate(self._c.request("PUT", path, json=body).json())

    def delete_component(self, app: str, *, kind: str, name: str) -> None:
        self._c.request("DELETE", f"/apps/{_seg(app)}/components/{_seg(kind)}/{_seg(name)}")

    def enable_access(self, app: str, connection: str) -> ConnectionPublic:
        answer = self._c.request("PUT", f"/apps/{_seg(app)}/access/{_seg(connection)}")
        return ConnectionPublic.model_validate(answer.json())

    def disable_access(self, app: str, connection: str) -> ConnectionPublic:
        answer = self._c.request("DELETE", f"/apps/{_seg(app)}/access/{_seg(connection)}")
        return ConnectionPublic.model_validate(answer.json())

    def grant(self, app: str, email: str) -> bool:
        """Make a member a user of the app; False when they already were."""
        answer = self._c.request("PUT", f"/apps/{_seg(app)}/users/{_seg(email)}")
        return bool(answer.json()["changed"])

    def ungrant(self, app: str, email: str) -> bool:
        answer = self._c.request("DELETE", f"/apps/{_seg(app)}/users/{_seg(email)}")
        return bool(answer.json()["changed"])

    def users(self, app: str) -> builtins.list[AppUserPublic]:
        path = f"/apps/{_seg(app)}/users"
        return [AppUserPublic.model_validate(d) for d in self._c._pages(path, {})]

    # -- stage versions, packages, install --------------------------------------------------------

    def publish(self, app: str, *, components: Sequence[str] | None = None) -> AppVersionPublic:
        body = {"components": None if components is None else list(components)}
        answer = self._c.request("POST", f"/apps/{_seg(app)}/publish", json=body)
        return AppVersionPublic.model_validate(answer.json())

    def versions(self, app: str) -> builtins.list[AppVersionPublic]:
        path = f"/apps/{_seg(app)}/versions"
        return [AppVersionPublic.model_validate(d) for d in self._c._pages(path, {})]

    def package(self, app: str, *, version: int | None = None) -> bytes:
        """The package file of a stage version (the newest by default), byte for byte."""
        query = {"version": version} if version is not None else {}
        return self._c.request("GET", f"/apps/{_seg(app)}/package", params=query).content

    def install(self, package: bytes) -> InstallReportPublic:
        return self._send_package("/packages/install", package)

    def import_package(self, package: bytes) -> InstallReportPublic:
        return self._send_package("/packages/import", package)

    def _send_package(self, path: str, package: bytes) -> InstallReportPublic:
        headers = {"Content-Type": PACKAGE_CONTENT_TYPE}
        answer = self._c.request("POST", path, content=package, headers=headers)
        return InstallReportPublic.model_validate(answer.json())

    # -- app tokens, running ----------------------------------------------------------------------

    def create_token(self, app: str, *, name: str = "app") -> AppTokenIssued:
        answer = self._c.request("POST", f"/apps/{_seg(app)}/tokens", json={"name": name})
        return AppTokenIssued.model_validate(answer.json())

    def tokens(self, app: str) -> builtins.list[AppTokenPublic]:
        path = f"/apps/{_seg(app)}/tokens"
        return [AppTokenPublic.model_validate(d) for d in self._c._pages(path, {})]

    def revoke_token(self, app: str, token_id: str) -> AppTokenPublic:
        answer = self._c.request("DELETE", f"/apps/{_seg(app)}/tokens/{_seg(token_id)}")
        return AppTokenPublic.model_validate(answer.json())

    def system_connection(self, app: str, service: str) -> SystemConnectionPublic:
        """The system connection serving ``service`` for the app, made on its first use."""
        path = f"/apps/{_seg(app)}/system-connections/{_seg(service)}"
        return SystemConnectionPublic.model_validate(self._c.request("PUT", path).json())

    def panel(self, app: str, *, environment: str | None = None) -> builtins.list[PanelEntryPublic]:
        """The app's connections panel for the token's member (or app)."""
        query: dict[str, Any] = {"environment": environment}
        path = f"/apps/{_seg(app)}/panel"
        return [PanelEntryPublic.model_validate(d) for d in self._c._pages(path, query)]
