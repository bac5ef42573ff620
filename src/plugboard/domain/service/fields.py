"""Shared field types of a service definition: URL and placeholder rules, names, regexes.

Every rule raises through :func:`_fail`, so the error carries the path below the model raising
it and the parser (:mod:`.parsing`) can name the exact field.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from plugboard.domain.naming import DISPLAY_NAME_MAX

PLACEHOLDER_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,49}$"
_PLACEHOLDER_KEY = re.compile(PLACEHOLDER_KEY_PATTERN)
_BRACES = re.compile(r"\{([^{}]*)\}")
# A placeholder is checked as if it held this label, so `https://{shop}.myshopify.com` passes
# the real-host rule while `https://{host}/x` (a host made only of a placeholder) does not.
_PLACEHOLDER_PROBE = "placeholder"
# Names a user could put in a header or parameter: printable, no separators that would let a
# name smuggle a second header or parameter in.
_PARAM_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
_RESERVED_HOST_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".test",
    ".invalid",
    ".example",
    ".home.arpa",
)
_RESERVED_HOSTS = frozenset({"localhost", "example.com", "example.net", "example.org"})


def _fail(subpath: str, rule: str) -> PydanticCustomError:
    """A pydantic error that carries the path below the model raising it, so the adapter can
    report ``oauth2.scopes.2.name`` rather than just ``oauth2``."""
    return PydanticCustomError("plugboard", "{rule}", {"rule": rule, "subpath": subpath})


# --- URLs and placeholders -------------------------------------------------------------------


def placeholders_in(template: str) -> list[str]:
    """The ``{key}`` placeholders of a template, in order of appearance, without repeats."""
    seen: list[str] = []
    for key in _BRACES.findall(template):
        if key not in seen:
            seen.append(key)
    return seen


def _check_placeholder_syntax(template: str) -> str | None:
    for key in _BRACES.findall(template):
        if not _PLACEHOLDER_KEY.fullmatch(key):
            return (
                f"placeholders must look like {{key}} with key matching {PLACEHOLDER_KEY_PATTERN}"
            )
    if "{" in _BRACES.sub("", template) or "}" in _BRACES.sub("", template):
        return "braces may only be used for {key} placeholders"
    return None


def _host_problem(host: str) -> str | None:
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return "must name a host, not an IP address"
    if "." not in host:
        return "must name a real host with a dotted domain name"
    if host in _RESERVED_HOSTS or any(host.endswith("." + h) for h in _RESERVED_HOSTS):
        return "must name a real host, not an example or local name"
    if host.endswith(_RESERVED_HOST_SUFFIXES):
        return "must name a real host, not an example or local name"
    return None


ANY_HOST = "*"


def check_https_url(url: str, http_hosts: Collection[str] = ()) -> str | None:
    """Why ``url`` is not an https URL with a real host, or ``None`` when it is fine.

    ``{key}`` placeholders are allowed in the host as long as a literal domain remains
    (``https://{shop}.myshopify.com``). This is a sanity rule for definitions; where a request
    may actually go is the outbound guard's decision. Hosts in ``http_hosts`` (an operator's
    explicit development allowance, e.g. a local test provider; ``*`` for any) may be reached
    over plain http and need not be public names.
    """
    syntax = _check_placeholder_syntax(url)
    if syntax:
        return syntax
    lowered = url.lower()
    local_ok = False
    if http_hosts and lowered.startswith(("http://", "https://")):
        try:
            host = (urlsplit(_BRACES.sub(_PLACEHOLDER_PROBE, url)).hostname or "").lower()
        except ValueError:
            host = ""
        local_ok = ANY_HOST in http_hosts or host in {h.lower() for h in http_hosts}
    if not local_ok and not lowered.startswith("https://"):
        return "must be an https:// URL"
    probe = _BRACES.sub(_PLACEHOLDER_PROBE, url)
    try:
        parts = urlsplit(probe)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return "must be a well-formed https URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if parts.fragment:
        return "must not have a #fragment"
    if any(c.isspace() for c in url):
        return "must not contain white space"
    return None if local_ok else _host_problem(host)


def _https_url(value: str, info: ValidationInfo) -> str:
    http_hosts = info.context.get("http_hosts", ()) if info.context else ()
    problem = check_https_url(value, http_hosts)
    if problem:
        raise _fail("", problem)
    return value


HttpsUrl = Annotated[str, Field(max_length=2000), AfterValidator(_https_url)]


# --- building blocks -------------------------------------------------------------------------


class _Model(BaseModel):
    # Frozen so a loaded catalog cannot be changed by whoever holds a reference; extra keys are
    # rejected because in a hand-written file an unknown key is nearly always a typo.
    model_config = ConfigDict(frozen=True, extra="forbid")


# Only display names are stripped: a prefix such as "Bearer " needs its trailing space.
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=DISPLAY_NAME_MAX)
]
ParamName = Annotated[str, Field(pattern=_PARAM_NAME.pattern)]
ParamType = Literal["query", "form", "header"]


def _is_builtin(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("builtin"))


def _is_stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


def _secret_may_be_absent(info: ValidationInfo) -> bool:
    """A custom service installed from a package carries its OAuth client's id but never its
    secret: the receiving workspace registers that (`plugboard services set-client`)."""
    return bool(info.context and (info.context.get("installed") or info.context.get("stored")))


# One entry of ``hosts``: an https URL here; the service model then checks it is an origin
# pattern (see plugboard.domain.origins) once its dynamic parameters are known.
HostPattern = Annotated[str, Field(max_length=300), AfterValidator(_https_url)]


def _valid_regex(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as exc:
        raise _fail("", f"must be a valid regular expression ({exc.msg})") from None
    return value


Regex = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_valid_regex)]
