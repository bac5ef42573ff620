"""/invoke: call a third-party API with a connection's credential (SPEC §7), for callers in any
language. The body comes back in a JSON envelope; /proxy streams it instead."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request

from plugboard.errors import ValidationError
from plugboard.server.deps import CurrentPrincipal
from plugboard.server.schemas import InvokeRequest, InvokeResult
from plugboard.usecases.invoke import Invoker

router = APIRouter(tags=["invoke"])


@router.post("/invoke")
async def invoke(
    body: InvokeRequest, request: Request, principal: CurrentPrincipal
) -> InvokeResult:
    """Send the request with the connection's credential; 424 when no usable authorization
    exists (the problem says who must act)."""
    invoker: Invoker = request.app.state.invoker
    bodies = [b for b in (body.json_body, body.form, body.text, body.body_base64) if b is not None]
    if len(bodies) > 1:
        raise ValidationError("body", "give at most one of json, form, text, body_base64")
    data: dict[str, str] | str | bytes | None = body.form or body.text
    if body.body_base64 is not None:
        try:
            data = base64.b64decode(body.body_base64, validate=True)
        except binascii.Error:
            raise ValidationError("body_base64", "must be base64") from None
    response = await invoker.ainvoke(
        principal,
        body.url,
        body.method.upper(),
        connection=body.connection,
        headers=body.headers,
        params=body.params,
        data=data,
        json=body.json_body,
        environment=body.environment,
        as_user=body.as_user,
        timeout=body.timeout,
        max_attempts=body.max_attempts,
        max_retry_seconds=body.max_retry_seconds,
    )
    content = response.content
    try:
        text: str | None = content.decode("utf-8")
        encoded = None
    except UnicodeDecodeError:
        text, encoded = None, base64.b64encode(content).decode()
    return InvokeResult(
        status=response.status_code,
        headers=dict(response.headers),
        text=text,
        body_base64=encoded,
        url=str(response.url).partition("?")[0],
    )
