"""The outbound guard: invoke must not become a way into our own network (SSRF).

Two parts, each in its own module; every name stays importable from here:

- :mod:`plugboard.auth.outbound_policy` -- which targets are allowed: the address rules
  (metadata, loopback, private, ... after DNS resolution, embedded IPv4 included) and
  ``PLUGBOARD_OUTBOUND_ALLOWLIST`` (:class:`OutboundPolicy`).
- :mod:`plugboard.auth.outbound_transport` -- where the policy is enforced: before a request is
  sent and again at connect time, connecting to the very address that was checked (no DNS
  rebinding window), and clients that never follow redirects by themselves.
"""

from __future__ import annotations

from plugboard.auth.outbound_policy import (
    ALLOWLIST_ENV,
    DEFAULT_DNS_CACHE_SECONDS,
    IPAddress,
    IPNetwork,
    OutboundPolicy,
    Resolver,
    blocked_rule,
    system_resolver,
)
from plugboard.auth.outbound_transport import (
    AsyncGuardedTransport,
    GuardedTransport,
    async_guarded_client,
    async_guarded_http_transport,
    guarded_client,
    guarded_http_transport,
)

__all__ = [
    "ALLOWLIST_ENV",
    "AsyncGuardedTransport",
    "DEFAULT_DNS_CACHE_SECONDS",
    "GuardedTransport",
    "IPAddress",
    "IPNetwork",
    "OutboundPolicy",
    "Resolver",
    "async_guarded_client",
    "async_guarded_http_transport",
    "blocked_rule",
    "guarded_client",
    "guarded_http_transport",
    "system_resolver",
]
