"""Where a connection's credential may be sent: only to its service's own API hosts.

Without this rule, anyone allowed to invoke a connection could aim it (a full URL, or the
proxy's X-Plugboard-Base-Url) at a host of their choosing and receive the credential there.
The hosts of a service are the host of its `base_url` and that host's siblings under the same
parent domain (`sheets.googleapis.com` next to `www.googleapis.com`, another org's
`*.my.salesforce.com`); an IP address stands only for itself. A service without a `base_url`
declares no host and is not restricted — give custom services a base URL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from plugboard.domain.service import ServiceDefinition
from plugboard.domain.urls import substitute
from plugboard.errors import OutboundBlocked


def _parent(host: str) -> str | None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        return ".".join(labels[1:]) if len(labels) > 2 else host
    return None


def check_credential_target(
    service: ServiceDefinition, dynamic_values: Mapping[str, str], url: str
) -> None:
    """Raise OutboundBlocked unless `url` is on one of the service's hosts."""
    if service.base_url is None:
        return
    home = (urlsplit(substitute(service.base_url, dynamic_values)).hostname or "").lower()
    host = (urlsplit(url).hostname or "").lower()
    if host == home:
        return
    parent = _parent(home)
    if parent is not None and (host == parent or host.endswith("." + parent)):
        return
    raise OutboundBlocked(
        f"{host or 'that URL'} is not a host of service {service.link_name!r} (its API is at "
        f"{home}): a connection's credential is only sent to the service it belongs to"
    )
