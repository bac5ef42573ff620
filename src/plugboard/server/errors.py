"""Errors as RFC 9457 problem+json: one status and a stable `type` per domain error class."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from plugboard import errors

PROBLEM_BASE = "https://plugboard.dev/problems/"

STATUS: dict[type[errors.PlugboardError], int] = {
    errors.InvalidURL: 400,
    errors.ValidationError: 422,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.AuthenticationFailed: 401,
    errors.PermissionDenied: 403,
    errors.RateLimited: 429,
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


def _problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + code,
        "title": code.replace("_", " "),
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def problem_response(exc: errors.PlugboardError) -> JSONResponse:
    extra = {k: v for k, v in exc.to_dict().items() if k not in {"code", "message"}}
    response = _problem(status_of(exc), exc.code, exc.message, **extra)
    if isinstance(exc, errors.RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def request_validation_problem(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own validation (a malformed body or query) in the same shape as ours. Input
    values are not echoed back: they may be secrets."""
    problems = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        problems.append({"field": ".".join(location) or "body", "rule": str(error.get("msg"))})
    first = problems[0] if problems else {"field": "body", "rule": "is invalid"}
    detail = "; ".join(f"{p['field']}: {p['rule']}" for p in problems) or "invalid request"
    return _problem(422, errors.ValidationError.code, detail, **first, errors=problems)


def http_problem(exc: HTTPException, path: str) -> JSONResponse:
    if exc.status_code == 404:  # no route: the NotFound of a path, fields and all
        return problem_response(errors.NotFound("path", path, str(exc.detail)))
    code = {405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _problem(exc.status_code, code, str(exc.detail))


def install_problem_handlers(app: FastAPI) -> None:
    """Every error an app raises answers as problem+json."""

    @app.exception_handler(errors.PlugboardError)
    async def _plugboard_error(_request: Request, exc: errors.PlugboardError) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return request_validation_problem(exc)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return http_problem(exc, request.url.path)
