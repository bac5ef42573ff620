"""Plugboard: a self-hosted connections broker.

``pb = plugboard.connect()`` opens the local store; ``pb = plugboard.connect(url, token=...)``
talks to a Plugboard server, with the same interface. ``pb.invoke_url(url, connection="crm")``
sends a request with the connection's credential; ``pb.auth("crm")`` injects it into any httpx2,
httpx or requests client; ``pb.connections``, ``pb.authorizations`` and ``pb.services`` manage them.
"""

import typing as _typing

from plugboard._version import __version__
from plugboard.errors import (
    AuthorizationRequired,
    InvalidURL,
    NotFound,
    OutboundBlocked,
    PermissionDenied,
    PlugboardError,
    ServerUnreachable,
    UpstreamError,
    ValidationError,
)

if _typing.TYPE_CHECKING:
    from plugboard.client import (
        InvokeResponse,
        LocalClient,
        PlugboardAuth,
        PlugboardClient,
        RemoteClient,
        connect,
    )

# The clients load on first use: app code that talks to a server never imports the store,
# the crypto or the web framework, and `import plugboard` stays cheap for the CLI.
_FROM_CLIENT = frozenset(
    {"InvokeResponse", "LocalClient", "PlugboardAuth", "PlugboardClient", "RemoteClient", "connect"}
)


def __getattr__(name: str) -> _typing.Any:
    if name in _FROM_CLIENT:
        from plugboard import client

        value = getattr(client, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'plugboard' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _FROM_CLIENT)


__all__ = [
    "AuthorizationRequired",
    "InvalidURL",
    "InvokeResponse",
    "LocalClient",
    "NotFound",
    "OutboundBlocked",
    "PermissionDenied",
    "PlugboardAuth",
    "PlugboardClient",
    "PlugboardError",
    "RemoteClient",
    "ServerUnreachable",
    "UpstreamError",
    "ValidationError",
    "__version__",
    "connect",
]
