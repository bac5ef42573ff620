"""Apps as one usecase service bound to (runtime, acting principal), like `Connections`: each
call owns its transaction, the permission checks and audit entries live in the usecase functions
it calls, and it returns public records. The REST routes, the embedded client's ``pb.apps`` and
the console call it."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from plugboard.domain.packages import write_package
from plugboard.domain.principal import Principal
from plugboard.errors import AlreadyExists
from plugboard.records import ConnectionPublic
from plugboard.records.apps import (
    AppConnectionPublic,
    AppDetailsPublic,
    AppPublic,
    AppTokenIssued,
    AppTokenPublic,
    AppUserPublic,
    AppVersionPublic,
    ComponentPublic,
    InstallReportPublic,
    PanelAuthorizationPublic,
    PanelEntryPublic,
    SystemConnectionPublic,
)
from plugboard.usecases import app_install, app_publish, app_runtime, app_tokens, apps
from plugboard.usecases.app_install import InstallReport
from plugboard.usecases.connections import status_of_connection
from plugboard.usecases.paging import KeysetPage, fetch_one_more, keyset_page
from plugboard.usecases.runtime import Runtime

__all__ = ["Apps"]


class Apps:
    def __init__(self, runtime: Runtime, actor: Principal, workspace: str | None = None) -> None:
        self._runtime = runtime
        self._actor = actor
        self._workspace = workspace

    # -- apps -----------------------------------------------------------------------------------

    def list(
        self, *, after: str | None = None, limit: int | None = None
    ) -> builtins.list[AppPublic]:
        with self._runtime.unit(write=False) as unit:
            found = apps.list_apps(
                unit, self._actor, workspace=self._workspace, after=after, limit=limit
            )
        return [AppPublic.of(a) for a in found]

    def get(self, app: str, *, environment: str | None = None) -> AppDetailsPublic:
        with self._runtime.unit(write=False) as unit:
            details = apps.show_app(
                unit, self._actor, app, environment=environment, workspace=self._workspace
            )
        return AppDetailsPublic(
            **AppPublic.of(details.app).model_dump(),
            environment=details.environment.value,
            components=[ComponentPublic.of(c) for c in details.components],
            connections=[AppConnectionPublic.of(c) for c in details.connections],
        )

    def create(self, *, name: str, link_name: str | None = None) -> AppPublic:
        with self._runtime.unit() as unit:
            app = apps.create_app(
                unit, self._actor, name=name, link_name=link_name, workspace=self._workspace
            )
        return AppPublic.of(app)

    def rename(self, app: str, *, name: str) -> AppPublic:
        with self._runtime.unit() as unit:
            renamed = apps.rename_app(unit, self._actor, app, name=name, workspace=self._workspace)
        return AppPublic.of(renamed)

    def delete(self, app: str) -> None:
        with self._runtime.unit() as unit:
            apps.delete_app(unit, self._actor, app, workspace=self._workspace)

    # -- components and app access --------------------------------------------------------------

    def put_component(
        self,
        app: str,
        *,
        kind: str,
        name: str,
        connections: Sequence[str] = (),
        services: Sequence[str] = (),
    ) -> ComponentPublic:
        with self._runtime.unit() as unit:
            component = apps.put_component(
                unit, self._actor, app, kind=kind, name=name, connections=connections,
                services=services, workspace=self._workspace,
            )  # fmt: skip
        return ComponentPublic.of(component)

    def delete_component(self, app: str, *, kind: str, name: str) -> None:
        with self._runtime.unit() as unit:
            apps.delete_component(
                unit, self._actor, app, kind=kind, name=name, workspace=self._workspace
            )

    def enable_access(self, app: str, connection: str) -> ConnectionPublic:
        with self._runtime.unit() as unit:
            conn = apps.enable_access(unit, self._actor, app, connection, workspace=self._workspace)
            status = status_of_connection(unit, self._actor, conn)
        return ConnectionPublic.of(conn, status)

    def disable_access(self, app: str, connection: str) -> ConnectionPublic:
        with self._runtime.unit() as unit:
            conn = apps.disable_access(
                unit, self._actor, app, connection, workspace=self._workspace
            )
            status = status_of_connection(unit, self._actor, conn)
        return ConnectionPublic.of(conn, status)

    def grant(self, app: str, email: str) -> bool:
        """Make a member a user of the app; False when they already were."""
        with self._runtime.unit() as unit:
            return apps.grant_app(unit, self._actor, app, email, workspace=self._workspace)

    def ungrant(self, app: str, email: str) -> bool:
        with self._runtime.unit() as unit:
            return apps.ungrant_app(unit, self._actor, app, email, workspace=self._workspace)

    def users(self, app: str) -> builtins.list[AppUserPublic]:
        """The members the app is granted to (admins manage them), by e-mail."""
        return self.users_page(app).items

    def users_page(
        self, app: str, *, after: str | None = None, limit: int | None = None
    ) -> KeysetPage[AppUserPublic, str]:
        """One page of the app's users by e-mail, paged in SQL; the key is the last e-mail."""
        with self._runtime.unit(write=False) as unit:
            found = apps.app_users(
                unit, self._actor, app, workspace=self._workspace, after=after,
                limit=fetch_one_more(limit),
            )  # fmt: skip
        users = [
            AppUserPublic(
                email=m.user.email, name=m.user.name, role=m.role.value, granted_at=granted_at
            )
            for m, granted_at in found
        ]
        return keyset_page(users, limit, lambda u: u.email)

    # -- stage, packages, install ---------------------------------------------------------------

    def publish(self, app: str, *, components: Sequence[str] | None = None) -> AppVersionPublic:
        with self._runtime.unit() as unit:
            version = app_publish.publish_to_stage(
                unit, self._actor, app, components=components, workspace=self._workspace
            )
        return AppVersionPublic.of(app, version)

    def versions(self, app: str) -> builtins.list[AppVersionPublic]:
        return self.versions_page(app).items

    def versions_page(
        self, app: str, *, after: int | None = None, limit: int | None = None
    ) -> KeysetPage[AppVersionPublic, int]:
        """One page of the app's stage versions by number, paged in SQL."""
        with self._runtime.unit(write=False) as unit:
            found = apps.app_for(unit, self._actor, app, self._workspace)
            versions = unit.apps.versions(found.id, after=after, limit=fetch_one_more(limit))
        listed = [AppVersionPublic.of(found.link_name, v) for v in versions]
        return keyset_page(listed, limit, lambda v: v.number)

    def package(self, app: str, *, version: int | None = None) -> bytes:
        """The package file of a stage version (the newest by default)."""
        with self._runtime.unit() as unit:
            _, content = app_publish.package_content(
                unit, self._actor, app, version=version, workspace=self._workspace
            )
        return write_package(content)

    def install(self, package: bytes) -> InstallReportPublic:
        with self._runtime.unit() as unit:
            report = app_install.install_package(
                unit, self._actor, package, workspace=self._workspace,
                http_hosts=self._runtime.settings.allow_http_host_entries,
            )  # fmt: skip
        return _report(report)

    def import_package(self, package: bytes) -> InstallReportPublic:
        with self._runtime.unit() as unit:
            report = app_install.import_package(
                unit, self._actor, package, workspace=self._workspace,
                http_hosts=self._runtime.settings.allow_http_host_entries,
            )  # fmt: skip
        return _report(report)

    # -- app tokens -----------------------------------------------------------------------------

    def create_token(self, app: str, *, name: str = "app") -> AppTokenIssued:
        with self._runtime.unit() as unit:
            issued = app_tokens.create_app_token(
                unit, self._actor, app, name=name, workspace=self._workspace
            )
        public = AppTokenPublic.of(app, issued.token)
        return AppTokenIssued(**public.model_dump(), secret=issued.secret)

    def tokens(self, app: str) -> builtins.list[AppTokenPublic]:
        with self._runtime.unit(write=False) as unit:
            found = app_tokens.list_app_tokens(unit, self._actor, app, workspace=self._workspace)
        return [AppTokenPublic.of(app, t) for t in found]

    def revoke_token(self, app: str, token_id: str) -> AppTokenPublic:
        with self._runtime.unit() as unit:
            token = app_tokens.revoke_app_token(
                unit, self._actor, app, token_id, workspace=self._workspace
            )
        return AppTokenPublic.of(app, token)

    # -- running ----------------------------------------------------------------------------------

    def system_connection(self, app: str, service: str) -> SystemConnectionPublic:
        """The system connection serving ``service`` for the app, made on its first use."""
        try:
            return self._system_connection(app, service)
        except AlreadyExists:
            # Another process made it first: the database let one through; use that one.
            return self._system_connection(app, service)

    def _system_connection(self, app: str, service: str) -> SystemConnectionPublic:
        with self._runtime.unit() as unit:
            conn, created = app_runtime.system_connection(
                unit, self._actor, app, service, workspace=self._workspace
            )
            status = status_of_connection(unit, self._actor, conn)
            _, entries = app_runtime.panel(unit, self._actor, app, workspace=self._workspace)
        who = next((e.who_must_act for e in entries if e.connection.id == conn.id), "")
        return SystemConnectionPublic(
            connection=ConnectionPublic.of(conn, status), created=created, who_must_act=who
        )

    def panel(self, app: str, *, environment: str | None = None) -> builtins.list[PanelEntryPublic]:
        """The app's connections panel (the console's "slider") for the caller."""
        with self._runtime.unit(write=False) as unit:
            _, entries = app_runtime.panel(
                unit, self._actor, app, environment=environment, workspace=self._workspace
            )
        return [
            PanelEntryPublic(
                link_name=e.connection.link_name,
                name=e.connection.name,
                service=e.connection.service_link_name,
                service_name=e.service_name,
                level=e.connection.level,
                authorizations=[
                    PanelAuthorizationPublic(
                        environment=a.environment.value,
                        status=a.status,
                        account_name=a.account_name,
                        is_primary=a.is_primary,
                    )
                    for a in e.authorizations
                ],
                may_authorize=e.may_authorize,
                who_must_act=e.who_must_act,
            )  # fmt: skip
            for e in entries
        ]


def _report(report: InstallReport) -> InstallReportPublic:
    return InstallReportPublic(
        app=AppPublic.of(report.app), previous_version=report.previous_version,
        environment=report.environment.value, added=report.added, updated=report.updated,
        unchanged=report.unchanged, needs_reauth=report.needs_reauth, renamed=report.renamed,
        removed=report.removed, services_created=report.services_created,
    )  # fmt: skip
