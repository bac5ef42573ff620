"""The outbound address policy: invoke must not become a way into our own network (SSRF).

A request may leave only over ``http``/``https`` and only to addresses that are globally
routable. After DNS resolution -- every A/AAAA record, and the legacy numeric forms
(``2130706433``, ``0177.0.0.1``, ``0x7f.1``) that resolvers accept -- a request is refused when any
address is:

    metadata     169.254.169.254, 169.254.170.2, fd00:ec2::254, 100.100.100.200, and the name
                 metadata.google.internal
    unspecified  0.0.0.0, ::
    loopback     127/8, ::1
    link-local   169.254/16, fe80::/10
    multicast    224/4, ff00::/8
    cgnat        100.64/10 (shared address space)
    private      RFC 1918, fc00::/7 (ULA) and the other special-purpose "private" blocks
    reserved     240/4 and the IETF reserved ranges
    non-global   anything else the IANA registries mark as not globally reachable

IPv6 addresses that embed an IPv4 address (``::ffff:127.0.0.1``, NAT64 ``64:ff9b::/96``, 6to4,
Teredo) are judged by the embedded address too.

``PLUGBOARD_OUTBOUND_ALLOWLIST`` is a comma-separated list of hostnames and CIDRs: a listed
hostname may resolve anywhere; an address inside a listed network is allowed.

Checked addresses are remembered (:meth:`OutboundPolicy.allowed_addresses`): a literal address
for good (its verdict cannot change; the policy is immutable), a name's allowed addresses for
``dns_cache_seconds`` (``PLUGBOARD_DNS_CACHE_SECONDS``, default 5 s: the system resolver tells no
TTL, so a short bound stands in for it). The guard connects only to addresses this returned, so
the address that was checked is still the address connected to (no rebinding window); a name
that starts resolving elsewhere is followed within that many seconds. A refused target is never
remembered. :meth:`OutboundPolicy.checked_url` answers without blocking when no resolution is
needed, so async callers skip the worker thread.

The checks themselves run in :mod:`plugboard.auth.outbound_transport`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import anyio.to_thread
import httpx2

from plugboard.errors import ConfigurationError, OutboundBlocked

__all__ = [
    "ALLOWLIST_ENV",
    "DEFAULT_DNS_CACHE_SECONDS",
    "IPAddress",
    "IPNetwork",
    "OutboundPolicy",
    "Resolver",
    "blocked_rule",
    "system_resolver",
]

ALLOWLIST_ENV = "PLUGBOARD_OUTBOUND_ALLOWLIST"
DEFAULT_DNS_CACHE_SECONDS = 5.0
# A bound on the remembered targets of one policy (a process reaches few hosts; a flood of
# distinct names must not grow memory without end).
_MAX_REMEMBERED = 4096
_FOREVER = float("inf")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog"})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)
_SCHEMES = frozenset({"http", "https"})


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``getaddrinfo`` returns for ``host`` (A and AAAA), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in seen:
            seen.append(address)
    return seen


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """``ip`` and any IPv4 address it carries."""
    found: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            found.append(ip.ipv4_mapped)
        if ip in _NAT64:
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            found.append(ip.sixtofour)
        if ip.teredo is not None:
            found.append(ip.teredo[1])
    return found


def blocked_rule(ip: IPAddress) -> str | None:
    """The name of the rule that blocks ``ip``, or None when it is globally routable."""
    for candidate in _embedded(ip):
        rule = _rule_for(candidate)
        if rule is not None:
            return rule
    return None


def _rule_for(ip: IPAddress) -> str | None:
    if ip in _METADATA_ADDRESSES:
        return "metadata"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "cgnat"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-global"
    return None


def _literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one, in any form a resolver would accept."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


class OutboundPolicy:
    """Which outbound targets are allowed. Immutable after construction."""

    def __init__(
        self,
        allowlist: Iterable[str] = (),
        *,
        resolver: Resolver = system_resolver,
        dns_cache_seconds: float = DEFAULT_DNS_CACHE_SECONDS,
    ):
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in allowlist:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            if not re.fullmatch(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?", name):
                raise ConfigurationError(
                    f"{ALLOWLIST_ENV}: {entry!r} is neither a hostname nor a CIDR"
                )
            hosts.add(name)
        self.allowed_hosts = frozenset(hosts)
        self.allowed_networks = tuple(networks)
        self._resolver = resolver
        self.dns_cache_seconds = max(0.0, dns_cache_seconds)
        # (host as given, port) -> (expires at, allowed addresses); see the module docstring.
        self._checked: dict[tuple[str, int], tuple[float, list[IPAddress]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, resolver: Resolver = system_resolver
    ) -> OutboundPolicy:
        """The policy ``PLUGBOARD_OUTBOUND_ALLOWLIST`` describes (empty: block every private)."""
        value = (os.environ if environ is None else environ).get(ALLOWLIST_ENV, "")
        return cls(value.split(","), resolver=resolver)

    def __repr__(self) -> str:
        allowed = sorted(self.allowed_hosts) + [str(n) for n in self.allowed_networks]
        return f"OutboundPolicy(allowlist={allowed!r})"

    def _network_allowed(self, ip: IPAddress) -> bool:
        return any(
            candidate.version == net.version and candidate in net
            for candidate in _embedded(ip)
            for net in self.allowed_networks
        )

    def allowed_addresses(self, host: str, port: int) -> list[IPAddress]:
        """Resolve ``host`` and return its addresses, or raise OutboundBlocked.

        Every address must pass: a name that resolves to one public and one private address
        is refused, since the connection could use either. The answer is remembered (see the
        module docstring); the list returned must not be changed.
        """
        key = (host, port)
        hit = self._checked.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        addresses, literal = self._check(host, port)
        ttl = _FOREVER if literal else self.dns_cache_seconds
        if ttl > 0:
            with self._lock:
                if len(self._checked) >= _MAX_REMEMBERED:
                    self._checked.clear()
                self._checked[key] = (time.monotonic() + ttl, addresses)
        return addresses

    def remembered_addresses(self, host: str, port: int) -> list[IPAddress] | None:
        """:meth:`allowed_addresses` when it needs no resolution (a literal address, or a name
        checked within ``dns_cache_seconds``); None when it would resolve (a blocking call)."""
        hit = self._checked.get((host, port))
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        name = host.lower().rstrip(".").strip("[]")
        metadata = name in _METADATA_NAMES and name not in self.allowed_hosts
        if metadata or _literal_address(name) is not None:
            return self.allowed_addresses(host, port)  # pure computation (or a refusal)
        return None

    def _check(self, host: str, port: int) -> tuple[list[IPAddress], bool]:
        """(allowed addresses, whether ``host`` is a literal address), or OutboundBlocked."""
        name = host.lower().rstrip(".").strip("[]")
        allowed_host = name in self.allowed_hosts
        if name in _METADATA_NAMES and not allowed_host:
            raise _blocked(name, "metadata", None)
        literal = _literal_address(name)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            try:
                resolved = self._resolver(name, port)
            except OSError:
                raise _blocked(name, "unresolvable", None) from None
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolved]
            if not addresses:
                raise _blocked(name, "unresolvable", None)
        if not allowed_host:
            for ip in addresses:
                rule = blocked_rule(ip)
                if rule is not None and not self._network_allowed(ip):
                    raise _blocked(name, rule, ip)
        return addresses, literal is not None

    def check_url(self, url: str | httpx2.URL) -> list[IPAddress]:
        """Check a URL before anything is sent; returns the addresses it may connect to."""
        host, port = self._target(url)
        return self.allowed_addresses(host, port)

    def checked_url(self, url: str | httpx2.URL) -> list[IPAddress] | None:
        """:meth:`check_url` without blocking: None when the host must be resolved first."""
        host, port = self._target(url)
        return self.remembered_addresses(host, port)

    def _target(self, url: str | httpx2.URL) -> tuple[str, int]:
        """(host, port) of an http(s) URL, or OutboundBlocked."""
        if isinstance(url, httpx2.URL):
            # The host as it goes on the wire (IDNA 2008): the name connected to is this one.
            scheme, host, port = url.scheme, url.raw_host.decode("ascii"), url.port
        else:
            from urllib.parse import urlsplit

            parts = urlsplit(url)
            scheme, host = parts.scheme, parts.hostname or ""
            try:
                port = parts.port
            except ValueError:
                raise OutboundBlocked(
                    "outbound request refused: the URL's port is invalid"
                ) from None
        scheme = scheme.lower()
        if scheme not in _SCHEMES:
            raise OutboundBlocked(
                f"outbound request refused: scheme {scheme!r} is not allowed (only http, https)"
            )
        if not host:
            raise OutboundBlocked("outbound request refused: the URL has no host")
        if not host.isascii():  # an international name, checked in its form on the wire
            try:
                host = httpx2.URL(scheme="http", host=host).raw_host.decode("ascii")
            except httpx2.InvalidURL:
                raise OutboundBlocked(
                    "outbound request refused: the host name is invalid"
                ) from None
        default_port = 443 if scheme == "https" else 80
        return host, port or default_port

    async def acheck_url(self, url: str | httpx2.URL) -> list[IPAddress]:
        """:meth:`check_url`, with the resolution (when one is needed) in a worker thread."""
        addresses = self.checked_url(url)
        if addresses is not None:
            return addresses
        return await anyio.to_thread.run_sync(self.check_url, url)

    async def aallowed_addresses(self, host: str, port: int) -> list[IPAddress]:
        """:meth:`allowed_addresses`, resolving (when needed) in a worker thread."""
        addresses = self.remembered_addresses(host, port)
        if addresses is not None:
            return addresses
        return await anyio.to_thread.run_sync(self.allowed_addresses, host, port)


def _blocked(host: str, rule: str, ip: IPAddress | None) -> OutboundBlocked:
    where = f" resolves to {ip}, which is" if ip is not None and str(ip) != host else " is"
    return OutboundBlocked(f"outbound request to host {host!r} refused:{where} {rule}")
