"""Plugboard: a self-hosted connections broker.

``pb = plugboard.connect()`` opens the local store; ``pb.invoke_url(url, connection="crm")``
sends a request with the connection's credential; ``pb.auth("crm")`` is an ``httpx2.Auth`` for
any httpx2 client.
"""

from plugboard._version import __version__
from plugboard.client import InvokeResponse, LocalClient, PlugboardClient, connect
from plugboard.errors import (
    AuthorizationRequired,
    OutboundBlocked,
    PlugboardError,
    UpstreamError,
)

__all__ = [
    "AuthorizationRequired",
    "InvokeResponse",
    "LocalClient",
    "OutboundBlocked",
    "PlugboardClient",
    "PlugboardError",
    "UpstreamError",
    "__version__",
    "connect",
]
