"""The audit entry of an invoke that raised: connection, environment, method, host and path --
never the query string, headers or body, which may carry secrets."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from plugboard.domain.principal import Principal
from plugboard.errors import PlugboardError
from plugboard.usecases.identity import workspace_for
from plugboard.usecases.runtime import Runtime

__all__ = ["audit_failed_invoke"]

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
