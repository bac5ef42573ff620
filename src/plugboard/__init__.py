"""Plugboard: a self-hosted connections broker.

``pb = plugboard.connect()`` opens the local store; ``pb = plugboard.connect(url, token=...)``
talks to a Plugboard server, with the same interface. ``pb.invoke_url(url, connection="crm")``
sends a request with the connection's credential; ``pb.auth("crm")`` injects it into any httpx2,
httpx or requests client; ``pb.connections``, ``pb.authorizations`` and ``pb.services`` manage them.
"""

from plugboard._version import __version__
from plugboard.client import (
    InvokeResponse,
    LocalClient,
    PlugboardAuth,
    PlugboardClient,
    RemoteClient,
    connect,
)
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
