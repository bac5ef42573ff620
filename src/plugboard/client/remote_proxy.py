"""``auth()`` of the remote client: requests go through the server's ``/proxy/<link_name>/``."""

from __future__ import annotations

from collections.abc import Generator

import httpx2

__all__ = ["ProxyAuth"]


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
