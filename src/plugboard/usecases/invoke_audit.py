"""The audit entry of an invoke that raised: connection, environment, method, host and path --
never the query string, headers or body, which may carry secrets.

:func:`audited` and :func:`aaudited` wrap the steps of one invoke (:class:`InvokeCall`): a
:class:`~plugboard.errors.PlugboardError` is audited and re-raised, a transport error becomes
an audited :class:`~plugboard.errors.UpstreamError`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import anyio.to_thread
import httpx2

from plugboard.domain.principal import Principal
from plugboard.errors import PlugboardError, UpstreamError
from plugboard.usecases.identity import workspace_for
from plugboard.usecases.invoke_requests import transport_message
from plugboard.usecases.runtime import Runtime

__all__ = ["InvokeCall", "aaudited", "audit_failed_invoke", "audited"]

log = logging.getLogger("plugboard.invoke")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def audit_failed_invoke(
    runtime: Runtime,
    actor: Principal,
    connection: str,
    environment: str | None,
    workspace: str | None,
    method: str,
    target: str,
    error: PlugboardError,
) -> None:
    """Audit a failed invoke in its own transaction; an audit failure is logged, never
    raised over the invoke's own error."""
    try:
        # A malformed URL runs on past a control character: only what precedes is a URL.
        parts = urlsplit(_CONTROL.split(target, maxsplit=1)[0])
        host, path = parts.hostname or "", parts.path
    except ValueError:
        host, path = "", ""
    detail = {
        "connection": connection,
        "environment": environment,
        "method": method,
        "host": host,
        "path": path[:300],
        "error": error.code,
        "message": error.message[:500],
    }
    try:
        with runtime.unit() as unit:
            ws_id: str | None = None
            conn_id: str | None = None
            try:
                ws = workspace_for(unit, actor, workspace)
                ws_id = ws.id
                found = unit.connections.find(ws.id, connection)
                conn_id = found.id if found else None
            except PlugboardError:
                pass
            unit.audit.record(
                actor=actor.label,
                action="connection.invoke",
                object_type="connection",
                object_id=conn_id,
                workspace_id=ws_id,
                now=unit.now(),
                outcome="failed",
                detail=detail,
            )
    except PlugboardError as exc:
        log.warning("could not audit a failed invoke of %r: %s", connection, exc.code)
    log.info("invoke of connection %r failed: %s", connection, error.code)


@dataclass(slots=True)
class InvokeCall:
    """One invoke as its audit entry sees it; ``target`` becomes the resolved URL."""

    actor: Principal
    connection: str
    environment: str | None
    as_user: str | None
    workspace: str | None
    method: str
    url: str
    target: str = ""

    def __post_init__(self) -> None:
        self.target = self.target or self.url

    def audit(self, runtime: Runtime, error: PlugboardError) -> None:
        audit_failed_invoke(
            runtime, self.actor, self.connection, self.environment, self.workspace, self.method,
            self.target, error,
        )  # fmt: skip
        if self.actor.is_app and error.code == "authorization_required":
            # A component needs an authorization that does not exist: tell who can fix it.
            from plugboard.usecases.authorization_required import tell_required

            tell_required(runtime, self.actor, error, self.as_user, self.workspace)


class audited:  # noqa: N801 - used as a function: ``with audited(runtime, call):``
    """Audit (and log) an invoke that raises; a transport error becomes UpstreamError.

    (A class rather than a generator context manager: it wraps every invoke.)"""

    __slots__ = ("_call", "_runtime")

    def __init__(self, runtime: Runtime, call: InvokeCall) -> None:
        self._runtime = runtime
        self._call = call

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        if isinstance(exc, PlugboardError):
            self._call.audit(self._runtime, exc)
        elif isinstance(exc, httpx2.HTTPError):
            call = self._call
            error = UpstreamError(transport_message(call.method, call.target, exc))
            call.audit(self._runtime, error)
            raise error from exc


class aaudited:  # noqa: N801 - used as a function: ``async with aaudited(runtime, call):``
    """:class:`audited` for asyncio: the audit entry is written in a worker thread."""

    __slots__ = ("_call", "_runtime")

    def __init__(self, runtime: Runtime, call: InvokeCall) -> None:
        self._runtime = runtime
        self._call = call

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        if isinstance(exc, PlugboardError):
            await anyio.to_thread.run_sync(self._call.audit, self._runtime, exc)
        elif isinstance(exc, httpx2.HTTPError):
            call = self._call
            error = UpstreamError(transport_message(call.method, call.target, exc))
            await anyio.to_thread.run_sync(call.audit, self._runtime, error)
            raise error from exc
