"""Problem answers of the Plugboard API back into the embedded client's exceptions.

A problem+json answer becomes the same :mod:`plugboard.errors` class the embedded client raises
(by the problem's ``type``), with the same message and fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from plugboard import errors

__all__ = ["error_from_problem", "raise_for_problem", "unreachable"]

_PROBLEM_BASE = "https://plugboard.dev/problems/"


def _codes() -> dict[str, type[errors.PlugboardError]]:
    found: dict[str, type[errors.PlugboardError]] = {}
    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.PlugboardError):
            found[cls.code] = cls
    return found


_CLASSES = _codes()


def error_from_problem(status: int, problem: Mapping[str, Any]) -> errors.PlugboardError:
    """The exception an RFC 9457 problem of the Plugboard API stands for, with every field the
    server's error carried (a problem that lacks them becomes a plain PlugboardError)."""
    type_ = str(problem.get("type", ""))
    code = type_[len(_PROBLEM_BASE) :] if type_.startswith(_PROBLEM_BASE) else ""
    detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    cls = _CLASSES.get(code)
    if cls is None:
        return errors.PlugboardError(detail)
    try:
        return cls.from_dict({**problem, "message": detail})
    except (KeyError, TypeError):
        return errors.PlugboardError(detail)


def raise_for_problem(response: httpx2.Response) -> None:
    """Raise the error a problem answer (HTTP 400 and up) stands for; other answers pass."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, Mapping):
        raise errors.PlugboardError(
            f"the Plugboard server answered HTTP {response.status_code} without a problem body"
        )
    raise error_from_problem(response.status_code, body)


def unreachable(base_url: str, exc: httpx2.TransportError) -> errors.ServerUnreachable:
    """The error for a Plugboard server that could not be reached at all."""
    return errors.ServerUnreachable(
        f"the Plugboard server at {base_url} could not be reached: {type(exc).__name__}"
    )
