"""The remote client's sub-APIs: ``connections``, ``authorizations`` and ``services`` over
the REST API, following its cursor pages."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from plugboard.client.protocol import (
    AuthorizationInfo,
    ConnectionDetails,
    ConnectionInfo,
    RevokeInfo,
    ServiceChange,
    ServiceInfo,
)
from plugboard.client.remote_records import (
    authorization_from,
    connection_from,
    service_from,
)
from plugboard.errors import ValidationError
from plugboard.records import (
    AuthorizationPublic,
    ConnectionEdited,
    ConsentStarted,
    ReferencePublic,
    ServiceClientPublic,
)

if TYPE_CHECKING:
    from plugboard.client.remote import RemoteClient

__all__ = ["ConsentStarted", "RemoteAuthorizations", "RemoteConnections", "RemoteServices"]


class RemoteConnections:
    def __init__(self, client: RemoteClient) -> None:
        self._c = client

    def list(
        self, *, service: str | None = None, level: str | None = None, search: str | None = None
    ) -> builtins.list[ConnectionInfo]:
        query = {"service": service, "level": level, "search": search}
        return [connection_from(d) for d in self._c._pages("/connections", query)]

    def get(self, link_name: str) -> ConnectionDetails:
        d = self._c.request("GET", f"/connections/{link_name}").json()
        return ConnectionDetails.model_validate(d)

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
    ) -> ConnectionInfo:
        body = {
            "service": service, "name": name, "link_name": link_name, "scopes": list(scopes),
            "all_scopes": all_scopes, "level": level, "per_environment": per_environment,
            "params": dict(params or {}),
        }  # fmt: skip
        return connection_from(self._c.request("POST", "/connections", json=body).json())

    def delete(self, link_name: str) -> None:
        self._c.request("DELETE", f"/connections/{link_name}")

    def edit(
        self,
        link_name: str,
        *,
        name: str | None = None,
        scopes: Sequence[str] | None = None,
        all_scopes: bool = False,
    ) -> ConnectionEdited:
        body: dict[str, Any] = {"name": name, "all_scopes": all_scopes}
        if scopes is not None:
            body["scopes"] = list(scopes)
        answer = self._c.request("PATCH", f"/connections/{link_name}", json=body)
        return ConnectionEdited.model_validate(answer.json())

    def references(self, link_name: str) -> builtins.list[ReferencePublic]:
        path = f"/connections/{link_name}/references"
        return [ReferencePublic.model_validate(d) for d in self._c._pages(path, {})]


class RemoteAuthorizations:
    def __init__(self, client: RemoteClient) -> None:
        self._c = client

    def list(
        self,
        link_name: str,
        *,
        search: str | None = None,
        user_type: str | None = None,
        environment: str | None = None,
    ) -> builtins.list[AuthorizationInfo]:
        query = {"search": search, "user_type": user_type, "environment": environment}
        path = f"/connections/{link_name}/authorizations"
        return [authorization_from(d) for d in self._c._pages(path, query)]

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
        body = {
            "values": dict(values), "environments": list(environments), "owner": owner,
            "account_name": account_name, "test": test,
        }  # fmt: skip
        answer = self._c.request("POST", f"/connections/{link_name}/credentials", json=body)
        return [authorization_from(d) for d in answer.json()]

    def revoke(
        self, link_name: str, *, environment: str | None = None, owner: str | None = None
    ) -> RevokeInfo:
        body = {"environment": environment, "owner": owner}
        path = f"/connections/{link_name}/authorizations/revoke"
        d = self._c.request("POST", path, json=body).json()
        return RevokeInfo.model_validate(d)

    def rename(
        self,
        link_name: str,
        name: str,
        *,
        environment: str | None = None,
        owner: str | None = None,
    ) -> AuthorizationPublic:
        body = {"name": name, "environment": environment, "owner": owner}
        path = f"/connections/{link_name}/authorizations/rename"
        return AuthorizationPublic.model_validate(self._c.request("POST", path, json=body).json())

    def set_primary(
        self, link_name: str, *, owner: str, environment: str | None = None
    ) -> AuthorizationPublic:
        body = {"owner": owner, "environment": environment}
        path = f"/connections/{link_name}/authorizations/primary"
        return AuthorizationPublic.model_validate(self._c.request("POST", path, json=body).json())

    def reuse(
        self, link_name: str, account: str, *, environment: str = "all", owner: str | None = None
    ) -> AuthorizationPublic:
        """Authorize (or switch) an environment with an account already linked."""
        body = {"environment": environment, "account": account, "owner": owner}
        path = f"/connections/{link_name}/authorizations/reuse"
        return AuthorizationPublic.model_validate(self._c.request("POST", path, json=body).json())

    def start_consent(self, link_name: str, *, environments: Sequence[str] = ()) -> ConsentStarted:
        """Start an OAuth consent on the server (remote only: the server receives the
        provider's callback). The token's member is the one who consents."""
        body = {"environments": list(environments)}
        answer = self._c.request("POST", f"/connections/{link_name}/consents", json=body)
        return ConsentStarted.model_validate(answer.json())

    def consent_status(self, flow_id: str) -> tuple[str, str | None]:
        """(state, outcome): state is pending, completed, failed or expired."""
        d = self._c.request("GET", f"/consents/{flow_id}").json()
        return str(d["state"]), d.get("outcome")


class RemoteServices:
    def __init__(self, client: RemoteClient) -> None:
        self._c = client

    def list(
        self, *, category: str | None = None, search: str | None = None, custom: bool = False
    ) -> builtins.list[ServiceInfo]:
        query = {"category": category, "search": search, "custom": "true" if custom else None}
        return [service_from(d) for d in self._c._pages("/services", query)]

    def get(self, link_name: str) -> ServiceInfo:
        return service_from(self._c.request("GET", f"/services/{link_name}").json())

    def create(self, definition: str | Mapping[str, Any]) -> ServiceInfo:
        """Create a custom service from a service file's text (YAML or JSON) or mapping."""
        body = _service_body(definition)
        return service_from(self._c.request("POST", "/services", json=body).json())

    def edit(self, link_name: str, definition: str | Mapping[str, Any]) -> ServiceChange:
        body = _service_body(definition)
        d = self._c.request("PUT", f"/services/{link_name}", json=body).json()
        return ServiceChange.model_validate(d)

    def delete(self, link_name: str) -> int:
        d = self._c.request("DELETE", f"/services/{link_name}").json()
        return int(d["revoked_authorizations"])

    def set_client(
        self, link_name: str, client_id: str, client_secret: str | None = None
    ) -> ServiceClientPublic:
        """Register this workspace's OAuth client for a service (the secret is sent once)."""
        body = {"client_id": client_id, "client_secret": client_secret}
        answer = self._c.request("PUT", f"/services/{link_name}/client", json=body)
        return ServiceClientPublic.model_validate(answer.json())


def _service_body(definition: str | Mapping[str, Any]) -> dict[str, Any]:
    """A service file as the REST API takes it (a JSON object); parsed here as YAML, which
    JSON is, so the server reports the same field errors as for a file."""
    if not isinstance(definition, str):
        return dict(definition)
    import yaml

    try:
        data = yaml.safe_load(definition)
    except yaml.YAMLError:
        raise ValidationError("definition", "must be valid YAML or JSON") from None
    if not isinstance(data, dict):
        raise ValidationError("definition", "must be a mapping of service fields")
    return data
