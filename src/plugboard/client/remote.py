"""The remote client: the same interface as the embedded one, over a Plugboard server's REST API.

``plugboard.connect("https://plugboard.example.com", token="pbt_…")`` returns a
:class:`RemoteClient`. The token decides who acts (its member, role and workspace; a token made
with ``acts_for_users`` may pass ``as_user``). No credential ever reaches this process:

- ``invoke_url`` / ``invoke_url_async`` send the request through the server's
  ``/proxy/<link_name>/…``, which runs the very same invoke as the embedded client (URL
  resolution against the service's base URL, ``{dynamic}`` placeholders, retries, OAuth 2
  refresh), and return the upstream's answer whatever its status: both bodies stream, repeated
  headers (``Set-Cookie``) are kept. What the proxy cannot carry as given (a URL or header that
  cannot be sent, see :mod:`plugboard.client.remote_proxy_invoke`) goes in the
  ``POST /api/v1/invoke`` JSON envelope, which refuses or sends it exactly as before.
- ``auth(link_name)`` is an ``httpx2.Auth`` that sends each request through the server's
  ``/proxy/<link_name>/…`` with ``X-Plugboard-Base-Url`` set to the request's own origin: the
  server adds the credential and streams both bodies. A redirect the app's client follows goes
  to its target directly, without the credential.
- ``connections``, ``authorizations``, ``services`` and ``apps`` call the REST API and follow
  its cursor pages.

A problem+json answer becomes the same :mod:`plugboard.errors` class the embedded client raises
(by the problem's ``type``), with the same message; :class:`~plugboard.errors.ServerUnreachable`
means the Plugboard server itself could not be reached.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx2

from plugboard import errors
from plugboard.client.auth_bridge import PlugboardAuth, plugboard_auth
from plugboard.client.protocol import ClientLifecycle, InvokeResponse
from plugboard.client.remote_apis import (
    ConsentStarted,
    RemoteAuthorizations,
    RemoteConnections,
    RemoteServices,
)
from plugboard.client.remote_apps import RemoteApps
from plugboard.client.remote_datasources import RemoteDatasources
from plugboard.client.remote_invoke import invoke_payload, invoke_response
from plugboard.client.remote_notifications import RemoteNotifications
from plugboard.client.remote_problems import error_from_problem, raise_for_problem, unreachable
from plugboard.client.remote_proxy import ProxyAuth
from plugboard.client.remote_proxy_invoke import proxied_response, proxy_request
from plugboard.client.remote_webhooks import RemoteWebhooks
from plugboard.tls import trust

__all__ = [
    "ConsentStarted",
    "ProxyAuth",
    "RemoteApps",
    "RemoteAuthorizations",
    "RemoteClient",
    "RemoteConnections",
    "RemoteNotifications",
    "RemoteServices",
    "RemoteWebhooks",
    "error_from_problem",
]

# An invoke may take the server's timeout plus its retries; the envelope waits for it.
DEFAULT_TIMEOUT = httpx2.Timeout(120.0, connect=10.0)


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
            verify=trust(verify),
            transport=transport,
        )
        self._async: dict[asyncio.AbstractEventLoop, httpx2.AsyncClient] = {}
        self.connections = RemoteConnections(self)
        self.authorizations = RemoteAuthorizations(self)
        self.services = RemoteServices(self)
        self.apps = RemoteApps(self)
        self.webhooks = RemoteWebhooks(self)
        self.datasources = RemoteDatasources(self)
        self.notifications = RemoteNotifications(self)

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
            raise unreachable(self.base_url, exc) from None
        raise_for_problem(answer)
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
                verify=trust(self._verify),
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
        max_attempts: int | None = None,
        max_retry_seconds: float | None = None,
    ) -> InvokeResponse:
        """Send ``method url`` with the connection's credential, on the server (SPEC §7)."""
        proxied = proxy_request(
            self.base_url, url, connection, headers, params, data, json, environment, as_user,
            timeout, max_attempts, max_retry_seconds,
        )  # fmt: skip
        try:
            if proxied is not None:
                return proxied_response(self._http.request(method.upper(), **proxied))
            payload = invoke_payload(
                url, method, connection, headers, params, data, json, environment, as_user,
                timeout, max_attempts, max_retry_seconds,
            )  # fmt: skip
            answer = self._http.post("/invoke", json=payload)
        except httpx2.TransportError as exc:
            raise unreachable(self.base_url, exc) from None
        return invoke_response(answer)

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
        proxied = proxy_request(
            self.base_url, url, connection, headers, params, data, json, environment, as_user,
            timeout, max_attempts, max_retry_seconds,
        )  # fmt: skip
        client = self._async_client()
        try:
            if proxied is not None:
                return proxied_response(await client.request(method.upper(), **proxied))
            payload = invoke_payload(
                url, method, connection, headers, params, data, json, environment, as_user,
                timeout, max_attempts, max_retry_seconds,
            )  # fmt: skip
            answer = await client.post("/invoke", json=payload)
        except httpx2.TransportError as exc:
            raise unreachable(self.base_url, exc) from None
        return invoke_response(answer)

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
