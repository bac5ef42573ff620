"""Connections as one usecase service bound to (runtime, acting principal): each call owns its
transaction, the permission checks and the audit entry live in the usecase functions it calls,
and it returns public records. The REST routes are one-line calls to it, and the embedded
client's ``pb.connections`` *is* it."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence

from plugboard.domain.models import AuthorizationStatus
from plugboard.domain.principal import Principal
from plugboard.records import (
    AuthorizationPublic,
    ConnectionDetailsPublic,
    ConnectionEdited,
    ConnectionPublic,
    ReferencePublic,
)
from plugboard.usecases import connection_details
from plugboard.usecases import connections as usecases
from plugboard.usecases.paging import KeysetPage, encode_cursor, fetch_one_more, keyset_page
from plugboard.usecases.runtime import Runtime

__all__ = ["Connections", "ConnectionsPage"]


class ConnectionsPage:
    """One page of a connection list, and the link name the next page starts after."""

    def __init__(self, items: builtins.list[ConnectionPublic], next_after: str | None) -> None:
        self.items = items
        self.next_after = next_after


class Connections:
    def __init__(self, runtime: Runtime, actor: Principal, workspace: str | None = None) -> None:
        self._runtime = runtime
        self._actor = actor
        self._workspace = workspace

    def page(
        self,
        *,
        service: str | None = None,
        level: str | None = None,
        search: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> ConnectionsPage:
        """The connections you may see by link name, filtered and paged by the store."""
        with self._runtime.unit(write=False) as unit:
            found = usecases.list_connections_with_status(
                unit, self._actor, workspace=self._workspace, service=service, level=level,
                search=search, after=after, limit=None if limit is None else limit + 1,
            )  # fmt: skip
        kept = found if limit is None else found[:limit]
        items = [ConnectionPublic.of(c, status) for c, status in kept]
        more = limit is not None and len(found) > limit
        return ConnectionsPage(items, items[-1].link_name if more and items else None)

    def list(
        self, *, service: str | None = None, level: str | None = None, search: str | None = None
    ) -> builtins.list[ConnectionPublic]:
        """The connections you may see, by link name (filters as the REST API's)."""
        return self.page(service=service, level=level, search=search).items

    def get(self, link_name: str) -> ConnectionDetailsPublic:
        with self._runtime.unit(write=False) as unit:
            details = connection_details.show_connection(
                unit, self._actor, link_name, workspace=self._workspace
            )
        return ConnectionDetailsPublic.of_details(
            details.connection,
            details.status,
            service_missing=details.service is None,
            authorizations=details.authorizations,
            references=details.references,
            authorization_count=details.authorization_count,
            authorizations_next_cursor=(
                None if details.next_authorization is None
                else encode_cursor(details.next_authorization)
            ),
        )  # fmt: skip

    def own_authorizations(self, link_name: str) -> builtins.list[AuthorizationPublic]:
        """The authorizations that serve you: on a user-level connection your own, on another
        the shared ones (the details hold only the first page of everyone's)."""
        with self._runtime.unit(write=False) as unit:
            found = connection_details.own_authorizations(
                unit, self._actor, link_name, workspace=self._workspace
            )
        return [AuthorizationPublic.of(a) for a in found]

    def create(
        self,
        *,
        service: str,
        name: str | None = None,
        link_name: str | None = None,
        scopes: Sequence[str] = (),
        all_scopes: bool = False,
        level: str = "admin",
        per_environment: bool = False,
        params: Mapping[str, str] | None = None,
    ) -> ConnectionPublic:
        connection_level = usecases.parse_level(level)
        with self._runtime.unit() as unit:
            created = usecases.create_connection(
                unit, self._actor, service=service, name=name, link_name=link_name,
                scopes=scopes, all_scopes=all_scopes, level=connection_level,
                per_environment=per_environment, params=params, workspace=self._workspace,
            )  # fmt: skip
        return ConnectionPublic.of(created, AuthorizationStatus.NOT_CONNECTED)  # none yet

    def delete(self, link_name: str) -> None:
        with self._runtime.unit() as unit:
            usecases.delete_connection(unit, self._actor, link_name, workspace=self._workspace)

    def edit(
        self,
        link_name: str,
        *,
        name: str | None = None,
        scopes: Sequence[str] | None = None,
        all_scopes: bool = False,
    ) -> ConnectionEdited:
        """Rename, or change scopes (existing authorizations then need re-authorizing)."""
        with self._runtime.unit() as unit:
            connection, reauth = usecases.edit_connection(
                unit, self._actor, link_name, name=name, scopes=scopes, all_scopes=all_scopes,
                workspace=self._workspace,
            )  # fmt: skip
            current = usecases.status_of_connection(unit, self._actor, connection)
        return ConnectionEdited(
            connection=ConnectionPublic.of(connection, current), needs_reauth=reauth
        )

    def references(self, link_name: str) -> builtins.list[ReferencePublic]:
        return self.references_page(link_name).items

    def references_page(
        self,
        link_name: str,
        *,
        after: connection_details.ReferenceKey | None = None,
        limit: int | None = None,
    ) -> KeysetPage[ReferencePublic, connection_details.ReferenceKey]:
        """One page of the components using the connection, paged in SQL by (app, component
        type, name, environment); the key the next page starts after."""
        with self._runtime.unit(write=False) as unit:
            found = connection_details.list_references(
                unit, self._actor, link_name, workspace=self._workspace, after=after,
                limit=fetch_one_more(limit),
            )  # fmt: skip
        return keyset_page(
            [ReferencePublic.of(r) for r in found],
            limit,
            lambda r: (r.app, r.component_type, r.component_name, r.environment),
        )
