"""The default TLS trust, built once per process.

Loading the system CA bundle into an ``ssl.SSLContext`` takes about 40 ms, and every
``httpx2.Client(verify=True)`` did it again: three times per server app, once per remote client.
A context is safe to share between clients and threads, so each ``verify=True`` becomes this one.
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx2

__all__ = ["system_trust", "trust"]


@cache
def system_trust() -> ssl.SSLContext:
    """What httpx2 builds for ``verify=True`` (the CA bundle, ``SSL_CERT_FILE`` honoured)."""
    return httpx2.create_ssl_context(verify=True)


def trust(verify: ssl.SSLContext | str | bool) -> ssl.SSLContext | str | bool:
    """``verify`` as given, except that ``True`` is the shared default context."""
    return system_trust() if verify is True else verify
