"""Where a connection's credential may be sent: only to its service's own origins.

Without this rule, anyone allowed to invoke a connection could aim it (a full URL, or the
proxy's X-Plugboard-Base-Url) at a host of their choosing and receive the credential there.

A credential goes only to an origin (scheme, host and port, see :mod:`plugboard.domain.origins`)
the service names:

- the origin of its ``base_url``, after the connection's dynamic values are substituted;
- the origins of its ``hosts`` field. A ``{key}`` naming a dynamic parameter takes the
  connection's value; any other ``{placeholder}`` is a leading host label that matches exactly
  one DNS label below the fixed domain the pattern names (``https://{bucket}.s3.{region}.
  amazonaws.com``).

Nothing else: no sibling hosts under the same parent domain, no other port of the same host, no
plain ``http`` version of an https origin. An ``http`` origin is accepted when it is exactly the
origin of an ``http`` base_url on a loopback host (traffic that never leaves the machine, such as
the demo provider ``serve --demo`` registers, which CLI processes must reach without the server's
allowance), and any other ``http`` origin only while its host is in the operator's
``PLUGBOARD_ALLOW_HTTP_HOSTS``. A service without a ``base_url`` (a custom
service stored before ``base_url`` was required) has no origin: its credential is not sent
until the service is given one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterator, Mapping

from plugboard.domain.origins import Origin, OriginPattern, parse_origin, parse_origin_pattern
from plugboard.domain.service import ANY_HOST, ServiceDefinition
from plugboard.domain.urls import substitute
from plugboard.errors import OutboundBlocked, PlugboardError

__all__ = ["allowed_origins", "check_credential_target", "credential_goes_to"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _fill(pattern: str, declared: Collection[str], values: Mapping[str, str]) -> str | None:
    """``pattern`` with its dynamic parameters filled in; wildcards are left as they are.

    ``None`` when a parameter has no value or a value that is not made of DNS labels."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        key = match.group(1)
        if key not in declared:
            return match.group(0)
        value = values.get(key)
        if not value or not all(_DNS_LABEL.fullmatch(p) for p in value.split(".")):
            missing = True
            return match.group(0)
        return value

    filled = _PLACEHOLDER.sub(one, pattern)
    return None if missing else filled


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _home_origin(service: ServiceDefinition, dynamic_values: Mapping[str, str]) -> Origin | None:
    if service.base_url is None:
        return None
    try:
        return parse_origin(substitute(service.base_url, dynamic_values))
    except PlugboardError:
        return None


def allowed_origins(
    service: ServiceDefinition, dynamic_values: Mapping[str, str]
) -> Iterator[Origin | OriginPattern]:
    """The origins a connection of ``service`` (with ``dynamic_values``) sends its credential to."""
    home = _home_origin(service, dynamic_values)
    if home is not None:
        yield home
    declared = {p.key for p in service.dynamic_parameters}
    for entry in service.hosts:
        filled = _fill(entry, declared, dynamic_values)
        pattern = parse_origin_pattern(filled) if filled is not None else None
        if pattern is not None:
            yield pattern


def _http_allowed(host: str, http_hosts: Collection[str]) -> bool:
    return ANY_HOST in http_hosts or host in {h.lower().rstrip(".") for h in http_hosts}


def credential_goes_to(
    service: ServiceDefinition,
    dynamic_values: Mapping[str, str],
    url: str,
    http_hosts: Collection[str] = (),
) -> bool:
    """Whether a request to ``url`` may carry the credential of a connection of ``service``."""
    origin = parse_origin(url)
    if origin is None:
        return False
    if origin.scheme == "http" and not _http_allowed(origin.host, http_hosts):
        return _is_loopback(origin.host) and origin == _home_origin(service, dynamic_values)
    for allowed in allowed_origins(service, dynamic_values):
        if allowed == origin if isinstance(allowed, Origin) else allowed.matches(origin):
            return True
    return False


def check_credential_target(
    service: ServiceDefinition,
    dynamic_values: Mapping[str, str],
    url: str,
    http_hosts: Collection[str] = (),
) -> None:
    """Raise OutboundBlocked unless ``url`` is on one of the service's origins.

    ``http_hosts``: the operator's ``PLUGBOARD_ALLOW_HTTP_HOSTS`` entries (plain http is refused
    for every other host)."""
    if service.base_url is None:
        raise OutboundBlocked(
            f"service {service.link_name!r} has no base_url, so no origin may receive its "
            "credential: give the service a base_url"
        )
    if credential_goes_to(service, dynamic_values, url, http_hosts):
        return
    origin = parse_origin(url)
    shown = str(origin) if origin is not None else "that URL"
    if (
        origin is not None
        and origin.scheme == "http"
        and not _http_allowed(origin.host, http_hosts)
    ):
        reason = "plain http is only used for hosts in PLUGBOARD_ALLOW_HTTP_HOSTS"
    else:
        names = ", ".join(str(o) for o in allowed_origins(service, dynamic_values)) or "none"
        reason = f"its origins are {names}"
    raise OutboundBlocked(
        f"{shown} is not an origin of service {service.link_name!r} ({reason}): a connection's "
        "credential is only sent to the service it belongs to"
    )
