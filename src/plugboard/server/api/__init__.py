"""REST API v1. Routes call usecases only; each request's changes are one transaction."""

from __future__ import annotations

from fastapi import APIRouter

from plugboard.server.api import (
    apps,
    audit,
    authorizations,
    connections,
    datasources,
    identity,
    invoke,
    notifications,
    services,
    session,
    webhooks,
)
from plugboard.server.schemas import problem_responses

router = APIRouter(
    prefix="/api/v1",
    responses=problem_responses(401, 403, 404, 409, 422, 424, 429, 502, 503),
)
for module in (
    session, identity, services, connections, authorizations, invoke, audit, apps, notifications,
    datasources, webhooks,
):  # fmt: skip
    router.include_router(module.router)
