"""The remote client: the same interface as the embedded one, over a Plugboard server's REST API.

``plugboard.connect("https://plugboard.example.com", token="pbt_…")`` returns a
:class:`RemoteClient`. The token decides who acts (its member, role and workspace; a token made
with ``acts_for_users`` may pass ``as_user``). No credential ever reaches this process:

- ``invoke_url`` / ``invoke_url_async`` send ``POST /api/v1/invoke``, which runs the very same
  invoke as the embedded client (URL resolution against the service's base URL, ``{dynamic}``
  placeholders, retries, OAuth 2 refresh), and return the upstream's answer whatever its
  status. The body travels base64 or as text in a JSON envelope, so this suits API calls, not
  large transfers -- use ``auth()`` for those.
- ``auth(link_name)`` is an ``httpx2.Auth`` that sends each request through the server's
  ``/proxy/<link_name>/…`` with ``X-Plugboard-Base-Url`` set to the request's own origin: the
  server adds the credential and streams both bodies. A redirect the app's client follows goes
  to its target directly, without the credential.
- ``connections``, ``authorizations`` and ``services`` call the REST API and follow its cursor
  pages.

A problem+json answer becomes the same :mod:`plugboard.errors` class the embedded client raises
(by the problem's ``type``), with the same message; :class:`~plugboard.errors.ServerUnreachable`
means the Plugboard server itself could not be reached.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
from collections.abc import Generator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx2

from plugboard import errors
from plugboard.client.auth_bridge import PlugboardAuth, plugboard_auth
from plugboard.client.protocol import (
    AuthorizationInfo,
    ClientLifecycle,
    ConnectionDetails,
    ConnectionInfo,
    InvokeResponse,
    ReferenceInfo,
    RevokeInfo,
    ServiceInfo,
)

__all__ = ["ConsentStarted", "ProxyAuth", "RemoteClient", "error_from_problem"]

# An invoke may take the server's timeout plus its retries; the envelope waits for it.
DEFAULT_TIMEOUT = httpx2.Timeout(120.0, connect=10.0)
_PROBLEM_BASE = "https://plugboard.dev/problems/"


# --- problems → the embedded client's exceptions ---------------------------------------------


def _codes() -> dict[str, type[errors.PlugboardError]]:
    found: dict[str, type[errors.PlugboardError]] = {}
    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.PlugboardError):
            found[cls.code] = cls
    return found


_CLASSES = _codes()


def error_from_problem(status: int, problem: Mapping[str, Any]) -> errors.PlugboardError:
    """The exception an RFC 9457 problem of the Plugboard API stands for, with every field the
    server's error carried (a problem that lacks them becomes a plain PlugboardError)."""
    type_ = str(problem.get("type", ""))
    code = type_[len(_PROBLEM_BASE) :] if type_.startswith(_PROBLEM_BASE) else ""
    detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    cls = _CLASSES.get(code)
    if cls is None:
        return errors.PlugboardError(detail)
    try:
        return cls.from_dict({**problem, "message": detail})
    except (KeyError, TypeError):
        return errors.PlugboardError(detail)


def _raise_for_problem(response: httpx2.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, Mapping):
        raise errors.PlugboardError(
            f"the Plugboard server answered HTTP {response.status_code} without a problem body"
        )
    raise error_from_problem(response.status_code, body)


def _unreachable(base_url: str, exc: httpx2.TransportError) -> errors.ServerUnreachable:
    return errors.ServerUnreachable(
        f"the Plugboard server at {base_url} could not be reached: {type(exc).__name__}"
    )


# --- records from JSON -----------------------------------------------------------------------


def _when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def connection_from(d: Mapping[str, Any]) -> ConnectionInfo:
    return ConnectionInfo(
        id=d["id"], link_name=d["link_name"], name=d["name"], service=d["service"],
        level=d["level"], per_environment=d["per_environment"], scopes=tuple(d["scopes"]),
        all_scopes=d["all_scopes"], params=dict(d["params"]), origin=d["origin"],
        created_by=d["created_by"], created_at=_when(d["created_at"]),
        modified_by=d["modified_by"], modified_at=_when(d["modified_at"]), status=d["status"],
    )  # fmt: skip


def authorization_from(d: Mapping[str, Any]) -> AuthorizationInfo:
    return AuthorizationInfo(
        id=d["id"], environment=d["environment"], owner_user_id=d["owner_user_id"],
        account_name=d["account_name"], status=d["status"], status_detail=d["status_detail"],
        is_primary=d["is_primary"], created_at=_when(d["created_at"]),
        updated_at=_when(d["updated_at"]), owner_email=d.get("owner_email"),
        owner_name=d.get("owner_name"), owner_role=d.get("owner_role"),
    )  # fmt: skip


def service_from(d: Mapping[str, Any]) -> ServiceInfo:
    return ServiceInfo(
        link_name=d["link_name"], name=d["name"], category=d["category"],
        auth_type=d["auth_type"], allow_user_level=d["allow_user_level"], builtin=d["builtin"],
        definition=dict(d["definition"]),
    )  # fmt: skip


# --- invoke over the envelope ----------------------------------------------------------------


def _scalar(value: Any) -> str:
    # As httpx2 writes query and form values, so both clients send the same request.
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _pairs(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in values.items():
        items = value if isinstance(value, list | tuple) else [value]
        pairs.extend((str(name), _scalar(v)) for v in items)
    return pairs


def _invoke_payload(
    url: str,
    method: str,
    connection: str,
    headers: Mapping[str, str] | None,
    params: Mapping[str, Any] | None,
    data: Mapping[str, Any] | str | bytes | None,
    json: Any,
    environment: str | None,
    as_user: str | None,
    timeout: float | None,
) -> dict[str, Any]:
    if data is not None and json is not None:
        raise errors.ValidationError("data", "give either data or json, not both")
    payload: dict[str, Any] = {"connection": connection, "method": method.upper(), "url": url}
    sent_headers = dict(headers or {})
    if params:
        pairs = _pairs(params)
        if len({name for name, _ in pairs}) == len(pairs):
            payload["params"] = dict(pairs)
        else:  # a repeated name: the envelope's params is a map, so it goes in the URL
            payload["url"] = url + ("&" if "?" in url else "?") + urlencode(pairs)
    if json is not None:
        payload["json"] = json
    elif isinstance(data, bytes):
        payload["body_base64"] = base64.b64encode(data).decode()
    elif isinstance(data, str):
        payload["text"] = data
    elif data is not None:
        pairs = _pairs(data)
        if len({name for name, _ in pairs}) == len(pairs):
            payload["form"] = dict(pairs)
        else:
            payload["text"] = urlencode(pairs)
            if not any(k.lower() == "content-type" for k in sent_headers):
                sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
    if sent_headers:
        payload["headers"] = sent_headers
    if environment is not None:
        payload["environment"] = environment
    if as_user is not None:
        payload["as_user"] = as_user
    if timeout is not None:
        payload["timeout"] = timeout
    return payload


def _charset(content_type: str | None) -> str:
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


def _invoke_response(answer: httpx2.Response) -> InvokeResponse:
    _raise_for_problem(answer)
    result = answer.json()
    if result.get("body_base64") is not None:
        content = base64.b64decode(result["body_base64"])
    else:
        content = str(result.get("text") or "").encode("utf-8")
    headers = httpx2.Headers(result["headers"])
    return InvokeResponse(
        status=int(result["status"]),
        headers=headers,
        content=content,
        url=str(result["url"]),
        encoding=_charset(headers.get("content-type")),
    )


# --- auth(): through the server's proxy -------------------------------------------------------


class ProxyAuth(httpx2.Auth):
    """Sends a request through a Plugboard server's ``/proxy/<link_name>/``: the server adds the
    connection's credential; only the Plugboard token is on this side."""

    def __init__(
        self,
        server: str,
        token: str,
        link_name: str,
        *,
        environment: str | None = None,
        as_user: str | None = None,
    ) -> None:
        self._server = httpx2.URL(server.rstrip("/") + "/")
        self._token = token
        self.link_name = link_name
        self.environment = environment
        self.as_user = as_user

    def __repr__(self) -> str:
        return f"ProxyAuth(link_name={self.link_name!r}, token=<redacted>)"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        url = request.url
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        path = url.raw_path.decode("ascii")  # path and query, encoding untouched
        target = self._server.join(f"proxy/{self.link_name}{path}")
        request.url = target
        request.headers["Host"] = target.netloc.decode("ascii")
        request.headers["Authorization"] = f"Bearer {self._token}"
        request.headers["X-Plugboard-Base-Url"] = origin
        if self.environment is not None:
            request.headers["X-Plugboard-Environment"] = self.environment
        if self.as_user is not None:
            request.headers["X-Plugboard-User"] = self.as_user
        yield request


# --- the client -------------------------------------------------------------------------------


class ConsentStarted:
    """A consent started on the server: send the person to ``authorize_url`` before
    ``expires_at``; poll :meth:`RemoteAuthorizations.consent_status` with ``flow_id``."""

    def __init__(self, flow_id: str, authorize_url: str, expires_at: datetime) -> None:
        self.flow_id = flow_id
        self.authorize_url = authorize_url
        self.expires_at = expires_at

    def __repr__(self) -> str:
        return f"ConsentStarted(flow_id={self.flow_id!r}, expires_at={self.expires_at!r})"


class RemoteClient(ClientLifecycle):
    """A Plugboard server's REST API as the embedded client's interface."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: httpx2.Timeout | float = DEFAULT_TIMEOUT,
        verify: Any = True,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        """``base_url`` is the server's root (``https://plugboard.example.com``), ``token`` an
        API token (``pbt_…``); ``verify`` is the TLS trust for the server."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise errors.ValidationError("url", "must be the server's http(s) URL")
        if not token:
            raise errors.ValidationError("token", "an API token is required")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._verify = verify
        self._http = httpx2.Client(
            base_url=f"{self.base_url}/api/v1",
            headers=self._headers(),
            timeout=timeout,
            verify=verify,
            transport=transport,
        )
        self._async: dict[asyncio.AbstractEventLoop, httpx2.AsyncClient] = {}
        self.connections = RemoteConnections(self)
        self.authorizations = RemoteAuthorizations(self)
        self.services = RemoteServices(self)

    def __repr__(self) -> str:
        return f"RemoteClient({self.base_url!r}, token=<redacted>)"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

    # -- HTTP -------------------------------------------------------------------------------------

    def request(self, method: str, path: str, **options: Any) -> httpx2.Response:
        """One REST API call (``path`` under ``/api/v1``); a problem raises its error."""
        try:
            answer = self._http.request(method, path, **options)
        except httpx2.TransportError as exc:
            raise _unreachable(self.base_url, exc) from None
        _raise_for_problem(answer)
        return answer

    def _pages(self, path: str, params: Mapping[str, Any]) -> builtins.list[dict[str, Any]]:
        query = {k: v for k, v in params.items() if v is not None}
        items: builtins.list[dict[str, Any]] = []
        while True:
            page = self.request("GET", path, params=query).json()
            items.extend(page["items"])
            if not page.get("next_cursor"):
                return items
            query["cursor"] = page["next_cursor"]

    def _async_client(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = httpx2.AsyncClient(
                base_url=f"{self.base_url}/api/v1",
                headers=self._headers(),
                timeout=self._timeout,
                verify=self._verify,
            )
            self._async[loop] = client
        return client

    # -- invoke -----------------------------------------------------------------------------------

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
    ) -> InvokeResponse:
        """Send ``method url`` with the connection's credential, on the server (SPEC §7)."""
        payload = _invoke_payload(
            url, method, connection, headers, params, data, json, environment, as_user, timeout
        )
        try:
            answer = self._http.post("/invoke", json=payload)
        except httpx2.TransportError as exc:
            raise _unreachable(self.base_url, exc) from None
        return _invoke_response(answer)

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
    ) -> InvokeResponse:
        payload = _invoke_payload(
            url, method, connection, headers, params, data, json, environment, as_user, timeout
        )
        try:
            answer = await self._async_client().post("/invoke", json=payload)
        except httpx2.TransportError as exc:
            raise _unreachable(self.base_url, exc) from None
        return _invoke_response(answer)

    def auth(
        self, link_name: str, *, environment: str | None = None, as_user: str | None = None
    ) -> PlugboardAuth:
        """Routes requests of any httpx2, httpx or requests client through the server's proxy
        (see module doc)."""
        return plugboard_auth(
            ProxyAuth(
                self.base_url, self._token, link_name, environment=environment, as_user=as_user
            )
        )

    # -- lifecycle --------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()
        for loop, client in list(self._async.items()):
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(client.aclose())
        self._async.clear()

    async def aclose(self) -> None:
        client = self._async.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
        self.close()


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
        return ConnectionDetails(
            connection_from(d),
            service_missing=d["service_missing"],
            authorizations=tuple(authorization_from(a) for a in d["authorizations"]),
            references=tuple(
                ReferenceInfo(r["app"], r["component_type"], r["component_name"], r["environment"])
                for r in d.get("references", [])
            ),
        )

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
        return RevokeInfo(d["status"], d["primary_warning"], d["provider"])

    def start_consent(self, link_name: str, *, environments: Sequence[str] = ()) -> ConsentStarted:
        """Start an OAuth consent on the server (remote only: the server receives the
        provider's callback). The token's member is the one who consents."""
        body = {"environments": list(environments)}
        d = self._c.request("POST", f"/connections/{link_name}/consents", json=body).json()
        return ConsentStarted(d["flow_id"], d["authorize_url"], _when(d["expires_at"]))

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
