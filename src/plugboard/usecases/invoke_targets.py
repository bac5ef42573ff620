"""Where an invoke sends its request: step 2 of SPEC §7 (``{dynamic}`` placeholders filled, a
path taken relative to the service's base URL) and the rule that a credential goes only to an
origin of the service (:func:`plugboard.domain.hosts.check_credential_target`).

One URL rule for invoke, async invoke and the proxy (:func:`fill_placeholders`): each
``{key}`` of the connection's dynamic parameters is filled throughout the URL -- written as is,
or percent-encoded (``%7Bkey%7D``) as HTTP clients send braces in a path, so that
``pb.invoke_url("/x/{id}")``, a request through ``/proxy/<link>/x/{id}`` and one through
``pb.auth()`` reach the same URL. :func:`target_url` takes a full URL or a path after the
service's base URL; :func:`stream_target` (the proxy) also takes a base URL the caller names,
and keeps the caller's percent-encoding of everything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from plugboard.domain.hosts import check_credential_target
from plugboard.domain.urls import check_request_url, substitute
from plugboard.errors import ValidationError
from plugboard.usecases.invoke_resolution import Resolved

__all__ = [
    "check_target",
    "checked_request_url",
    "fill_placeholders",
    "stream_target",
    "target_url",
]

_ENCODED_PLACEHOLDER = re.compile(r"%7B([A-Za-z_][A-Za-z0-9_]*)%7D", re.IGNORECASE)


# URLs that passed check_request_url (a function of the string alone): a hot loop invokes the
# same few, and the check parses the authority each time. Bounded; cleared when full.
_CHECKED: dict[str, None] = {}
_CHECKED_MAX = 1024


def checked_request_url(url: str) -> str:
    """:func:`~plugboard.domain.urls.check_request_url` (InvalidURL naming ``url``), remembered
    for the URLs it let through."""
    if url not in _CHECKED:
        check_request_url(url)
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[url] = None
    return url


def fill_placeholders(url: str, values: Mapping[str, str]) -> str:
    """``url`` (absolute) with each ``{key}`` filled from ``values``
    (:func:`plugboard.domain.urls.substitute`); ``%7Bkey%7D`` counts as ``{key}`` when ``key``
    is one of ``values`` (any other percent-encoded brace is sent as it is)."""
    if "%" in url and values:
        url = _ENCODED_PLACEHOLDER.sub(lambda m: "{" + m[1] + "}" if m[1] in values else m[0], url)
    return substitute(url, values)


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
    target = check_request_url(fill_placeholders(url, resolved.connection.dynamic_values))
    check_target(resolved, target, allow_http_hosts)
    return target


def stream_target(
    resolved: Resolved, url: str, base_url: str | None, allow_http_hosts: Sequence[str]
) -> str:
    """A full URL or a path as :func:`target_url` takes them, or a path appended to the
    ``base_url`` the caller names, placeholders filled the same way."""
    if base_url is None:
        return target_url(resolved, url, allow_http_hosts)
    if not url.startswith("/"):
        raise ValidationError("url", "must be a path (starting with /) with a base URL")
    values = resolved.connection.dynamic_values
    target = check_request_url(fill_placeholders(base_url.rstrip("/") + url, values))
    check_target(resolved, target, allow_http_hosts)
    return target
