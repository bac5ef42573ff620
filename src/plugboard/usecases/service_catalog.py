"""Services (the catalog and custom services) as one usecase service bound to (runtime, acting
principal): each call owns its transaction and returns public records. The REST routes call it
and the embedded client's ``pb.services`` is it."""

from __future__ import annotations

import builtins
import json as _json
from collections.abc import Mapping
from typing import Any

from plugboard.domain.principal import Principal
from plugboard.records import ServiceChangeResult, ServiceClientPublic, ServicePublic
from plugboard.usecases import services as service_usecases
from plugboard.usecases.paging import KeysetPage, fetch_one_more, keyset_page
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.service_clients import set_service_client
from plugboard.usecases.services import ServiceEntry

__all__ = ["Services"]


def _public(entry: ServiceEntry) -> ServicePublic:
    return ServicePublic.of(entry.definition, builtin=entry.builtin, custom=entry.custom)


class Services:
    def __init__(self, runtime: Runtime, actor: Principal, workspace: str | None = None) -> None:
        self._runtime = runtime
        self._actor = actor
        self._workspace = workspace

    def list(
        self, *, category: str | None = None, search: str | None = None, custom: bool = False
    ) -> builtins.list[ServicePublic]:
        """Every service you may use, by link name (filters as the REST API's)."""
        return self.page(category=category, search=search, custom=custom).items

    def page(
        self,
        *,
        category: str | None = None,
        search: str | None = None,
        custom: bool = False,
        after: str | None = None,
        limit: int | None = None,
    ) -> KeysetPage[ServicePublic, str]:
        """One page of services by link name (custom ones paged by the store, merged with the
        built-in catalog); the key is the last link name."""
        with self._runtime.unit(write=False) as unit:
            entries = service_usecases.page_services(
                unit, self._actor, workspace=self._workspace, category=category, search=search,
                custom_only=custom, after=after, limit=fetch_one_more(limit),
            )  # fmt: skip
        return keyset_page([_public(e) for e in entries], limit, lambda s: s.link_name)

    def get(self, link_name: str) -> ServicePublic:
        with self._runtime.unit(write=False) as unit:
            entry = service_usecases.show_service(
                unit, self._actor, link_name, workspace=self._workspace
            )
        return _public(entry)

    def create(self, definition: str | Mapping[str, Any]) -> ServicePublic:
        """Create a custom service from a service file's text (YAML or JSON) or mapping."""
        with self._runtime.unit() as unit:
            service = service_usecases.create_custom_service(
                unit, self._actor, _service_text(definition), workspace=self._workspace,
                http_hosts=self._runtime.settings.allow_http_host_entries,
            )  # fmt: skip
        return ServicePublic.of(service.definition, builtin=False, custom=service)

    def edit(self, link_name: str, definition: str | Mapping[str, Any]) -> ServiceChangeResult:
        """Replace a custom service's definition (creator only)."""
        with self._runtime.unit() as unit:
            service, disconnected = service_usecases.edit_custom_service(
                unit, self._actor, link_name, _service_text(definition), workspace=self._workspace,
                http_hosts=self._runtime.settings.allow_http_host_entries,
            )  # fmt: skip
        return ServiceChangeResult(
            service=ServicePublic.of(service.definition, builtin=False, custom=service),
            revoked_authorizations=disconnected,
        )

    def delete(self, link_name: str) -> int:
        """Delete a custom service (creator only); its connections stay, not_connected."""
        with self._runtime.unit() as unit:
            return service_usecases.delete_custom_service(
                unit, self._actor, link_name, workspace=self._workspace
            )

    def set_client(
        self, link_name: str, client_id: str, client_secret: str | None = None
    ) -> ServiceClientPublic:
        """Register this workspace's OAuth client for a service (the secret is stored sealed)."""
        with self._runtime.unit() as unit:
            registration = set_service_client(
                unit, self._actor, service=link_name, client_id=client_id,
                client_secret=client_secret, workspace=self._workspace,
            )  # fmt: skip
        return ServiceClientPublic(
            service=registration.service_link_name,
            client_id=registration.client_id,
            has_client_secret=registration.client_secret is not None,
            modified_at=registration.modified_at,
        )


def _service_text(definition: str | Mapping[str, Any]) -> str:
    # JSON is YAML: the usecase parses a mapping the way it parses a service file.
    return definition if isinstance(definition, str) else _json.dumps(dict(definition))
