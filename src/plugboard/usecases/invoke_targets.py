"""Where an invoke sends its request: step 2 of SPEC §7 (``{dynamic}`` placeholders filled, a
path taken relative to the service's base URL) and the rule that a credential goes only to an
origin of the service (:func:`plugboard.domain.hosts.check_credential_target`).

Two entry points, one origin rule: :func:`target_url` (invoke, async invoke) fills placeholders
in the whole URL; :func:`stream_target` (the proxy) appends the caller's path verbatim, keeping
its percent-encoding, to a base URL the caller may name.
"""

from __future__ import annotations

from collections.abc import Sequence

from plugboard.domain.hosts import check_credential_target
from plugboard.domain.urls import check_request_url, substitute
from plugboard.errors import ValidationError
from plugboard.usecases.invoke_resolution import Resolved

__all__ = ["check_target", "stream_target", "target_url"]


def check_target(resolved: Resolved, target: str, allow_http_hosts: Sequence[str]) -> None:
    """Refuse (OutboundBlocked) a target that is not an origin of the service."""
    check_credential_target(
        resolved.service, resolved.connection.dynamic_values, target, allow_http_hosts
    )


def target_url(resolved: Resolved, url: str, allow_http_hosts: Sequence[str]) -> str:
    """A full URL, or a path after the service's base URL; placeholders filled throughout."""
    if url.startswith("/"):
        base = resolved.service.base_url
        if base is None:
            raise ValidationError(
                "url",
                f"service {resolved.service.link_name!r} has no base URL: give the service "
                "one (its credential is only sent to that origin)",
            )
        url = base.rstrip("/") + url
    target = check_request_url(substitute(url, resolved.connection.dynamic_values))
    check_target(resolved, target, allow_http_hosts)
    return target


def stream_target(
    resolved: Resolved, url: str, base_url: str | None, allow_http_hosts: Sequence[str]
) -> str:
    """A full URL as :func:`target_url` takes it, or a path appended verbatim to ``base_url``
    (else the service's base URL with its placeholders filled)."""
    if not url.startswith("/"):
        if base_url is not None:
            raise ValidationError("url", "must be a path (starting with /) with a base URL")
        return target_url(resolved, url, allow_http_hosts)
    if base_url is None:
        base = resolved.service.base_url
        if base is None:
            raise ValidationError(
                "base_url",
                f"service {resolved.service.link_name!r} has no base URL: send one",
            )
        base_url = substitute(base, resolved.connection.dynamic_values)
    target = check_request_url(base_url.rstrip("/") + url)
    check_target(resolved, target, allow_http_hosts)
    return target
