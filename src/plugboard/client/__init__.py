"""Clients app code uses: ``plugboard.connect()`` (embedded, on the local store).

Both the local client and the later remote one satisfy :class:`PlugboardClient`.
"""

from __future__ import annotations

from plugboard.client.local import LocalClient, connect
from plugboard.client.protocol import InvokeResponse, PlugboardClient

__all__ = ["InvokeResponse", "LocalClient", "PlugboardClient", "connect"]
