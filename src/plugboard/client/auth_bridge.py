"""``pb.auth(link)``: one object that injects a connection's credential into httpx2, httpx and
requests clients alike.

The credential logic (injection, refresh before expiry, refresh once on a 401 and retry, the
service-host check) is written once, as an ``httpx2.Auth`` flow. :class:`PlugboardAuth` wraps
that flow and translates for the caller's library:

- ``httpx2.Client(auth=...)``: the flow runs as it is;
- ``httpx.Client(auth=...)`` / ``httpx.AsyncClient``: when httpx is installed, the object is also
  an ``httpx.Auth`` (httpx accepts nothing else as a multi-step flow) and translates each request
  and response (:mod:`plugboard.client.httpx_auth`);
- ``requests.get(..., auth=...)``: requests calls the object with the prepared request; a
  response hook feeds the answer back to the flow and sends the retry it asks for
  (:mod:`plugboard.client.requests_auth`).

httpx and requests are imported only when installed and used: the SDK needs neither.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx2

__all__ = ["PlugboardAuth", "plugboard_auth"]


class PlugboardAuth(httpx2.Auth):
    """A connection's credential for any httpx2, httpx or requests client (see module doc)."""

    def __init__(self, flow: httpx2.Auth) -> None:
        self._flow = flow

    def __repr__(self) -> str:
        return f"PlugboardAuth({self._flow!r})"

    @property
    def link_name(self) -> str:
        return str(getattr(self._flow, "link_name", ""))

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        if isinstance(request, httpx2.Request):
            return self._flow.sync_auth_flow(request)
        from plugboard.client import httpx_auth

        return httpx_auth.sync_flow(self._flow, request)

    def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        if isinstance(request, httpx2.Request):
            return self._flow.async_auth_flow(request)
        from plugboard.client import httpx_auth

        return httpx_auth.async_flow(self._flow, request)

    def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        return self.sync_auth_flow(request)

    def __call__(self, request: Any) -> Any:
        """requests' auth protocol: called with the ``PreparedRequest`` about to be sent."""
        from plugboard.client import requests_auth

        return requests_auth.prepare(self._flow, request)


def plugboard_auth(flow: httpx2.Auth) -> PlugboardAuth:
    """Wrap ``flow``; an ``httpx.Auth`` as well when httpx is installed (and not httpx2's alias),
    so that ``httpx.Client(auth=...)`` accepts it."""
    if importlib.util.find_spec("httpx") is None:
        return PlugboardAuth(flow)
    from plugboard.client.httpx_auth import HttpxCompatibleAuth

    return HttpxCompatibleAuth(flow)
