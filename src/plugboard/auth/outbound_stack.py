"""The one outbound stack of a process: the address policy (allowlist and resolver) and the TLS
trust, from which every client that sends is built -- invoke, refresh, the consent's code
exchange, a credential's test call. Built once per runtime, so a resolver or CA given for tests
or a private network applies to all of them."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any

import httpx2

from plugboard.auth.outbound import (
    DEFAULT_DNS_CACHE_SECONDS,
    OutboundPolicy,
    Resolver,
    async_guarded_client,
    guarded_client,
    system_resolver,
)
from plugboard.tls import system_trust

__all__ = ["Outbound"]


class Outbound:
    def __init__(
        self,
        allowlist: Sequence[str] = (),
        *,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
        dns_cache_seconds: float = DEFAULT_DNS_CACHE_SECONDS,
    ) -> None:
        self.policy = OutboundPolicy(
            allowlist, resolver=resolver or system_resolver, dns_cache_seconds=dns_cache_seconds
        )
        self.verify = system_trust() if verify is True else verify

    def client(
        self, *, timeout: float, auth: httpx2.Auth | None = None, **options: Any
    ) -> httpx2.Client:
        """A guarded client (allowed addresses only, no redirects followed) with this trust."""
        return guarded_client(
            self.policy, auth=auth, timeout=timeout, verify=self.verify, **options
        )

    def async_client(self, *, timeout: float, **options: Any) -> httpx2.AsyncClient:
        return async_guarded_client(self.policy, timeout=timeout, verify=self.verify, **options)
