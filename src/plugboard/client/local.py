"""The embedded client: usecases on the local store, in this process.

``plugboard.connect()`` opens the store the settings name (``PLUGBOARD_HOME``,
``PLUGBOARD_DATABASE_URL``, the master key) and acts as the local operator, or as a member with
``as_member=``. Use it as a context manager (``with`` or ``async with``) or call ``close()`` /
``await aclose()``: it keeps HTTP connections open between invokes.
"""

from __future__ import annotations

import builtins
import json as _json
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

from plugboard.auth.outbound import Resolver
from plugboard.client.auth_bridge import PlugboardAuth, plugboard_auth
from plugboard.client.protocol import (
    AuthorizationInfo,
    ClientLifecycle,
    ConnectionInfo,
    InvokeResponse,
    RevokeInfo,
    ServiceChange,
    ServiceInfo,
)
from plugboard.domain.connections import AuthorizationSummary, Connection
from plugboard.domain.models import AuthorizationStatus
from plugboard.domain.principal import OPERATOR, Principal
from plugboard.records import (
    AuthorizationListItem,
    AuthorizationPublic,
    ConnectionPublic,
    ServiceClientPublic,
)
from plugboard.settings import Settings
from plugboard.store.authorizations import AuthorizationRow
from plugboard.usecases import authorizations as authorization_usecases
from plugboard.usecases import credentials_entry
from plugboard.usecases import services as service_usecases
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.identity import principal_for
from plugboard.usecases.invoke import ConnectionAuth, Invoker
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.service_clients import set_service_client
from plugboard.usecases.services import ServiceEntry

__all__ = ["LocalClient", "connect"]


class LocalClient(ClientLifecycle):
    """Invoke connections of one workspace as one principal."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        principal: Principal = OPERATOR,
        workspace: str | None = None,
        owns_runtime: bool = False,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``resolver`` replaces the system's name resolution for outbound requests (the
        outbound guard checks and connects to what it returns); ``verify`` is their TLS trust
        (an SSLContext for a private CA)."""
        self.runtime = runtime
        self.principal = principal
        self.workspace = workspace
        self._owns_runtime = owns_runtime
        self._invoker = Invoker(runtime, resolver=resolver, verify=verify)
        self.connections = Connections(runtime, principal, workspace)
        self.authorizations = LocalAuthorizations(self)
        self.services = LocalServices(self)

    def __repr__(self) -> str:
        return f"LocalClient(principal={self.principal.label!r}, workspace={self.workspace!r})"

    @property
    def invoker(self) -> Invoker:
        return self._invoker

    def invoke_url(
        self,
        url: str,
        method: str = "GET",
        *,
        connection: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        json: Any = None,
        environment: str | None = None,
        as_user: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_seconds: float | None = None,
    ) -> InvokeResponse:
        """Send ``method url`` with the connection's credential (SPEC §7).

        Raises AuthorizationRequired (who must act is in ``.who_must_act``), OutboundBlocked,
        UpstreamError (the service could not be reached), ValidationError, NotFound.
        """
        response = self._invoker.invoke(
            self.principal,
            url,
            method,
            connection=connection,
            headers=headers,
            params=params,
            data=data,
            json=json,
            environment=environment,
            as_user=as_user,
            timeout=timeout,
            max_attempts=max_attempts,
            max_retry_seconds=max_retry_seconds,
            workspace=self.workspace,
        )
        return InvokeResponse.from_httpx(response)

    async def invoke_url_async(
        self,
        url: str,
        method: str = "GET",
        *,
        connection: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        json: Any = None,
        environment: str | None = None,
        as_user: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_seconds: float | None = None,
    ) -> InvokeResponse:
        response = await self._invoker.ainvoke(
            self.principal,
            url,
            method,
            connection=connection,
            headers=headers,
            params=params,
            data=data,
            json=json,
            environment=environment,
            as_user=as_user,
            timeout=timeout,
            max_attempts=max_attempts,
            max_retry_seconds=max_retry_seconds,
            workspace=self.workspace,
        )
        return InvokeResponse.from_httpx(response)

    def auth(
        self, link_name: str, *, environment: str | None = None, as_user: str | None = None
    ) -> PlugboardAuth:
        """The connection's credential for any httpx2, httpx or requests client."""
        return plugboard_auth(
            ConnectionAuth(
                self._invoker,
                self.principal,
                link_name,
                environment=environment,
                as_user=as_user,
                workspace=self.workspace,
            )
        )

    def close(self) -> None:
        self._invoker.close()
        if self._owns_runtime:
            self.runtime.close()

    async def aclose(self) -> None:
        await self._invoker.aclose()
        self.close()


# --- sub-APIs: the usecases, one transaction per call ----------------------------------------


def connection_info(c: Connection, status: AuthorizationStatus) -> ConnectionInfo:
    return ConnectionPublic.of(c, status)


def authorization_info(
    a: AuthorizationSummary, row: AuthorizationRow | None = None
) -> AuthorizationInfo:
    if row is None:
        return AuthorizationListItem.listed(a, None, None, None)
    return AuthorizationListItem.listed(a, row.owner_email, row.owner_name, row.owner_role)


def service_info(entry: ServiceEntry) -> ServiceInfo:
    d = entry.definition
    return ServiceInfo(
        link_name=d.link_name, name=d.name, category=d.category, auth_type=d.auth_type.value,
        allow_user_level=d.allow_user_level, builtin=entry.builtin, definition=d.to_data(),
    )  # fmt: skip


class LocalAuthorizations:
    def __init__(self, client: LocalClient) -> None:
        self._c = client

    def list(
        self,
        link_name: str,
        *,
        search: str | None = None,
        user_type: str | None = None,
        environment: str | None = None,
    ) -> builtins.list[AuthorizationInfo]:
        c = self._c
        with c.runtime.unit(write=False) as unit:
            rows = authorization_usecases.list_authorizations(
                unit, c.principal, connection=link_name, search=search, user_type=user_type,
                environment=environment, workspace=c.workspace,
            )  # fmt: skip
        found = [authorization_info(r.summary, r) for r in rows]
        return sorted(found, key=lambda a: (a.environment, a.owner_email or "", a.id))

    def enter_credential(
        self,
        link_name: str,
        values: Mapping[str, str],
        *,
        environments: Sequence[str] = (),
        owner: str | None = None,
        account_name: str | None = None,
        test: bool = True,
    ) -> builtins.list[AuthorizationInfo]:
        """Authorize an API key, Basic or AWS connection (the service's test call first)."""
        c = self._c
        summaries = credentials_entry.enter_credential(
            c.runtime, c.principal, connection=link_name, values=values,
            environments=environments, owner=owner, account_name=account_name, test=test,
            workspace=c.workspace,
        )  # fmt: skip
        return [authorization_info(s) for s in summaries]

    def revoke(
        self, link_name: str, *, environment: str | None = None, owner: str | None = None
    ) -> RevokeInfo:
        c = self._c
        with ConsentFlows(c.runtime) as flows:
            outcome = flows.revoke(
                c.principal, connection=link_name, environment=environment, owner=owner,
                workspace=c.workspace,
            )  # fmt: skip
        return RevokeInfo(outcome.authorization_status, outcome.primary_warning, outcome.provider)

    def rename(
        self,
        link_name: str,
        name: str,
        *,
        environment: str | None = None,
        owner: str | None = None,
    ) -> AuthorizationPublic:
        """Rename the authorized account's display name."""
        c = self._c
        with c.runtime.unit() as unit:
            summary = authorization_usecases.rename_account(
                unit, c.principal, connection=link_name, name=name, environment=environment,
                owner=owner, workspace=c.workspace,
            )  # fmt: skip
        return AuthorizationPublic.of(summary)

    def reuse(
        self, link_name: str, account: str, *, environment: str = "all", owner: str | None = None
    ) -> AuthorizationPublic:
        """Authorize (or switch) an environment with an account already linked."""
        c = self._c
        with c.runtime.unit() as unit:
            summary = authorization_usecases.reuse_account(
                unit, c.principal, connection=link_name, environment=environment,
                account=account, owner=owner, workspace=c.workspace,
            )  # fmt: skip
        return AuthorizationPublic.of(summary)

    def set_primary(
        self, link_name: str, *, owner: str, environment: str | None = None
    ) -> AuthorizationPublic:
        """Make ``owner``'s account the primary one (super admins only)."""
        c = self._c
        with c.runtime.unit() as unit:
            summary = authorization_usecases.mark_primary(
                unit, c.principal, connection=link_name, owner=owner, environment=environment,
                workspace=c.workspace,
            )  # fmt: skip
        return AuthorizationPublic.of(summary)


class LocalServices:
    def __init__(self, client: LocalClient) -> None:
        self._c = client

    def list(
        self, *, category: str | None = None, search: str | None = None, custom: bool = False
    ) -> builtins.list[ServiceInfo]:
        c = self._c
        with c.runtime.unit(write=False) as unit:
            entries = service_usecases.list_services(
                unit, c.principal, workspace=c.workspace, category=category, search=search,
                custom_only=custom,
            )  # fmt: skip
        return sorted((service_info(e) for e in entries), key=lambda s: s.link_name)

    def get(self, link_name: str) -> ServiceInfo:
        c = self._c
        with c.runtime.unit(write=False) as unit:
            entry = service_usecases.show_service(
                unit, c.principal, link_name, workspace=c.workspace
            )
        return service_info(entry)

    def create(self, definition: str | Mapping[str, Any]) -> ServiceInfo:
        """Create a custom service from a service file's text (YAML or JSON) or mapping."""
        c = self._c
        with c.runtime.unit() as unit:
            service = service_usecases.create_custom_service(
                unit, c.principal, _service_text(definition), workspace=c.workspace,
                http_hosts=c.runtime.settings.allow_http_host_entries,
            )  # fmt: skip
        return service_info(ServiceEntry(service.definition, builtin=False, custom=service))

    def edit(self, link_name: str, definition: str | Mapping[str, Any]) -> ServiceChange:
        """Replace a custom service's definition (creator only)."""
        c = self._c
        with c.runtime.unit() as unit:
            service, disconnected = service_usecases.edit_custom_service(
                unit, c.principal, link_name, _service_text(definition), workspace=c.workspace,
                http_hosts=c.runtime.settings.allow_http_host_entries,
            )  # fmt: skip
        entry = ServiceEntry(service.definition, builtin=False, custom=service)
        return ServiceChange(service_info(entry), disconnected)

    def delete(self, link_name: str) -> int:
        """Delete a custom service (creator only); its connections stay, not_connected."""
        c = self._c
        with c.runtime.unit() as unit:
            return service_usecases.delete_custom_service(
                unit, c.principal, link_name, workspace=c.workspace
            )

    def set_client(
        self, link_name: str, client_id: str, client_secret: str | None = None
    ) -> ServiceClientPublic:
        """Register this workspace's OAuth client for a service (the secret is stored sealed)."""
        c = self._c
        with c.runtime.unit() as unit:
            registration = set_service_client(
                unit, c.principal, service=link_name, client_id=client_id,
                client_secret=client_secret, workspace=c.workspace,
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


def connect(
    *,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    as_member: str | None = None,
    workspace: str | None = None,
) -> LocalClient:
    """An embedded client on the local store.

    ``as_member`` (an e-mail) acts as that member of ``workspace`` with their role; without it
    the client acts as the local operator, who holds the master key. Pass ``runtime`` to share
    an open one (its owner closes it).
    """
    owns = runtime is None
    if runtime is None:
        runtime = Runtime.open(settings or Settings())
    try:
        principal = OPERATOR
        if as_member is not None:
            with runtime.unit(write=False) as unit:
                principal = principal_for(unit, as_member, workspace, via="sdk")
    except BaseException:
        if owns:
            runtime.close()
        raise
    return LocalClient(runtime, principal=principal, workspace=workspace, owns_runtime=owns)
