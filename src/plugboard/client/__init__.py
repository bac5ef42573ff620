"""Clients app code uses: ``plugboard.connect()`` (embedded, on the local store) or
``plugboard.connect("https://plugboard.example.com", token=...)`` (remote, over REST).

Both satisfy :class:`PlugboardClient`, so app code does not change between the two.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, overload

from plugboard.client.auth_bridge import PlugboardAuth
from plugboard.client.protocol import (
    AuthorizationInfo,
    ConnectionDetails,
    ConnectionInfo,
    InvokeResponse,
    PlugboardClient,
    RevokeInfo,
    ServiceInfo,
)
from plugboard.client.remote import RemoteClient
from plugboard.errors import ValidationError

if TYPE_CHECKING:
    from plugboard.client.local import LocalClient
    from plugboard.settings import Settings
    from plugboard.usecases.runtime import Runtime

__all__ = [
    "AuthorizationInfo",
    "ConnectionDetails",
    "ConnectionInfo",
    "InvokeResponse",
    "LocalClient",
    "PlugboardAuth",
    "PlugboardClient",
    "RemoteClient",
    "RevokeInfo",
    "ServiceInfo",
    "connect",
]

TOKEN_ENV = "PLUGBOARD_TOKEN"


def __getattr__(name: str) -> Any:
    # The embedded client (store, crypto, usecases) loads only when asked for.
    if name == "LocalClient":
        from plugboard.client.local import LocalClient

        return LocalClient
    raise AttributeError(f"module 'plugboard.client' has no attribute {name!r}")


@overload
def connect(
    url: None = None,
    *,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    as_member: str | None = None,
    workspace: str | None = None,
) -> LocalClient: ...


@overload
def connect(url: str, *, token: str | None = None) -> RemoteClient: ...


def connect(
    url: str | None = None,
    *,
    token: str | None = None,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    as_member: str | None = None,
    workspace: str | None = None,
) -> LocalClient | RemoteClient:
    """Without ``url``: the embedded client on the local store (see
    :func:`plugboard.client.local.connect`). With the URL of a Plugboard server: a
    :class:`RemoteClient` acting as ``token`` (default: ``$PLUGBOARD_TOKEN``); who acts, with
    which role and in which workspace, is the token's business there."""
    if url is None:
        if token is not None:
            raise ValidationError("token", "a token goes with a server URL: connect(url, token=)")
        from plugboard.client import local

        return local.connect(
            settings=settings, runtime=runtime, as_member=as_member, workspace=workspace
        )
    for name, value in (
        ("settings", settings),
        ("runtime", runtime),
        ("as_member", as_member),
        ("workspace", workspace),
    ):
        if value is not None:
            raise ValidationError(
                name, "applies to the local store only: remotely the token decides"
            )
    return RemoteClient(url, token or os.environ.get(TOKEN_ENV, ""))


if TYPE_CHECKING:

    def _both_satisfy_the_protocol(a: LocalClient, b: RemoteClient) -> list[PlugboardClient]:
        return [a, b]
