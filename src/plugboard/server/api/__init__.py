"""REST API v1. Routes call usecases only; each request's changes are one transaction."""

from __future__ import annotations

from fastapi import APIRouter

from plugboard.server.api import (
    audit,
    authorizations,
    connections,
    identity,
    invoke,
    services,
    session,
)

router = APIRouter(prefix="/api/v1")
for module in (session, identity, services, connections, authorizations, invoke, audit):
    router.include_router(module.router)
