"""The test provider's ASGI app: every route, each wrapped so its call is recorded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugboard.testing.provider import (
    apikey,
    basic,
    consent,
    oauth1,
    oauth2_authorize,
    oauth2_resource,
    oauth2_token,
    sigv4,
)
from plugboard.testing.provider.common import Handler, Note, Refusal
from plugboard.testing.provider.records import records_of
from plugboard.testing.provider_state import Call, ProviderState

API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def endpoint(
    state: ProviderState, name: str, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler so every request is recorded once, with its outcome."""

    async def run(request: Request) -> Response:
        note = Note()
        error: str | None = None
        try:
            response = await handler(state, request, note)
        except Refusal as refusal:
            response, error = refusal.response, refusal.error
        state.record(
            Call(
                endpoint=name,
                method=request.method,
                path=request.url.path,
                status=response.status_code,
                at=state.now(),
                error=error,
                **asdict(note),
            )
        )
        return response

    return run


async def health(state: ProviderState, request: Request, note: Note) -> Response:
    return JSONResponse({"ok": True})


def create_provider_app(state: ProviderState | None = None) -> Starlette:
    """The provider as an ASGI app; ``app.state.provider`` is its :class:`ProviderState`."""
    state = state if state is not None else ProviderState()

    def p(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        return endpoint(state, name, handler)

    routes = [
        Route("/health", p("health", health)),
        Route(
            "/.well-known/oauth-authorization-server",
            p("oauth2.metadata", oauth2_authorize.metadata),
        ),
        Route("/oauth2/authorize", p("oauth2.authorize", oauth2_authorize.authorize)),
        Route("/consent", p("consent", consent.consent), methods=["POST"]),
        Route("/oauth2/token", p("oauth2.token", oauth2_token.token), methods=["POST"]),
        Route("/oauth2/revoke", p("oauth2.revoke", oauth2_token.revoke), methods=["POST"]),
        Route(
            "/oauth2/userinfo",
            p("oauth2.userinfo", oauth2_resource.userinfo),
            methods=["GET", "POST"],
        ),
        Route(
            "/oauth1/request_token",
            p("oauth1.request_token", oauth1.request_token),
            methods=["POST"],
        ),
        Route("/oauth1/authorize", p("oauth1.authorize", oauth1.authorize)),
        Route(
            "/oauth1/access_token",
            p("oauth1.access_token", oauth1.access_token),
            methods=["POST"],
        ),
        # The paged list API (records.py) before the echo API it shares the prefix with.
        *(
            Route(f"/api/{kind}/records", p("api.records", records_of(handler)))
            for kind, handler in (
                ("oauth2", oauth2_resource.api),
                ("apikey", apikey.api),
                ("basic", basic.api),
            )
        ),
        Route("/api/oauth2/{path:path}", p("api.oauth2", oauth2_resource.api), methods=API_METHODS),
        Route("/api/oauth1/{path:path}", p("api.oauth1", oauth1.api), methods=API_METHODS),
        Route("/api/apikey/{path:path}", p("api.apikey", apikey.api), methods=API_METHODS),
        Route("/api/basic/{path:path}", p("api.basic", basic.api), methods=API_METHODS),
        Route("/api/aws/{path:path}", p("api.aws", sigv4.api), methods=API_METHODS),
    ]
    app = Starlette(routes=routes)
    app.state.provider = state
    return app
