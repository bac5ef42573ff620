"""Domain errors as RFC 9457 problem+json, one status per error class."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from plugboard import errors

STATUS: dict[type[errors.PlugboardError], int] = {
    errors.ValidationError: 422,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.AuthenticationFailed: 401,
    errors.PermissionDenied: 403,
    errors.AuthorizationRequired: 424,
    errors.OutboundBlocked: 403,
    errors.UpstreamError: 502,
    errors.StoreUnavailable: 503,
}


def status_of(exc: errors.PlugboardError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem_response(exc: errors.PlugboardError) -> JSONResponse:
    status = status_of(exc)
    body = {
        "type": f"https://plugboard.dev/problems/{exc.code}",
        "title": exc.code.replace("_", " "),
        "status": status,
        "detail": exc.message,
        **{k: v for k, v in exc.to_dict().items() if k not in {"code", "message"}},
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )
