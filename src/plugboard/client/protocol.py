"""What every Plugboard client offers app code, embedded or (later) remote over REST.

Both satisfy :class:`PlugboardClient`, so app code is the same on a laptop and in a deployment.
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx2

__all__ = ["InvokeResponse", "PlugboardClient"]


@dataclass(frozen=True, slots=True)
class InvokeResponse:
    """The third-party service's answer: status, headers and body, whatever the status."""

    status: int
    headers: httpx2.Headers
    content: bytes
    url: str
    encoding: str | None = None

    @classmethod
    def from_httpx(cls, response: httpx2.Response) -> InvokeResponse:
        return cls(
            status=response.status_code,
            headers=response.headers,
            content=response.content,
            # The query may carry a credential (an API key parameter): never kept.
            url=str(response.url).partition("?")[0],
            encoding=response.encoding,
        )

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    def __repr__(self) -> str:
        return f"<InvokeResponse [{self.status}]>"


@runtime_checkable
class PlugboardClient(Protocol):
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
    ) -> InvokeResponse: ...

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
    ) -> InvokeResponse: ...

    def auth(
        self, link_name: str, *, environment: str | None = None, as_user: str | None = None
    ) -> httpx2.Auth: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...
