"""The audit entry of an invoke that raised: connection, environment, method, host and path --
never the query string, headers or body, which may carry secrets.

:func:`audited` and :func:`aaudited` wrap the steps of one invoke (:class:`InvokeCall`): a
:class:`~plugboard.errors.PlugboardError` is audited and re-raised, a transport error becomes
an audited :class:`~plugboard.errors.UpstreamError`."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
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


@contextmanager
def audited(runtime: Runtime, call: InvokeCall) -> Iterator[None]:
    """Audit (and log) an invoke that raises; a transport error becomes UpstreamError."""
    try:
        yield
    except PlugboardError as exc:
        call.audit(runtime, exc)
        raise
    except httpx2.HTTPError as exc:
        error = UpstreamError(transport_message(call.method, call.target, exc))
        call.audit(runtime, error)
        raise error from exc


@asynccontextmanager
async def aaudited(runtime: Runtime, call: InvokeCall) -> AsyncIterator[None]:
    """:func:`audited` for asyncio: the audit entry is written in a worker thread."""
    try:
        yield
    except PlugboardError as exc:
        await anyio.to_thread.run_sync(call.audit, runtime, exc)
        raise
    except httpx2.HTTPError as exc:
        error = UpstreamError(transport_message(call.method, call.target, exc))
        await anyio.to_thread.run_sync(call.audit, runtime, error)
        raise error from exc
