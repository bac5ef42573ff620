"""invoke: send a request to a third-party API with a connection's credential (SPEC §7).

1. :func:`resolve` finds the connection in the caller's workspace and the authorization that
   serves the environment: the shared one for admin and system connections; for user-level
   connections the calling user's own, or the primary account when no user is present. No
   usable authorization raises AuthorizationRequired saying who must act. The permission
   matrix decides first: an admin or system connection hidden from the role is NotFound (as
   on GET), and another user's authorization (or the primary) takes ``invoke_for_users``.
2. ``{dynamic}`` placeholders in the URL are replaced by the connection's values
   (:func:`plugboard.domain.urls.substitute`, which never lets a value change the host). A URL
   that starts with ``/`` is taken relative to the service's base URL.
3. The credential is injected by the auth type's ``httpx2.Auth`` (plugboard.auth); OAuth 2
   tokens refresh before expiry and once on rejection (usecases.refresh).
4. The request leaves through the outbound guard (``PLUGBOARD_OUTBOUND_ALLOWLIST``), with a
   timeout, without following redirects; idempotent methods are retried on connection errors,
   429 and 503 (auth.retry).

:meth:`Invoker.astream` is the streaming form the HTTP proxy uses: the request body may be an
async stream and the response is handed over unread (``async with invoker.astream(...) as r``).
A request can only be sent again when its body is in memory, so the rule is: a body of at most
:data:`REPLAY_LIMIT` bytes (64 KiB) is read first (:func:`replayable_body`) and then behaves as
in :meth:`Invoker.invoke` (OAuth 2 refresh-and-retry on a 401, retries of idempotent methods);
a larger body is streamed through and sent exactly once -- an OAuth 2 token about to expire is
still refreshed before the send, but a rejection is returned to the caller as is. (OAuth 1 and
SigV4 sign the body, and an API key in a form body rewrites it: those read it into memory.)

Every invoke that raises is written to the audit log (action ``connection.invoke``, outcome
``failed``) with the connection, environment, method, host and path -- never the query string,
headers or body, which may carry secrets.

:class:`Invoker` is the engine of one process: its HTTP clients keep connections alive between
invokes, and it keeps each resolution for ``invoke_cache_seconds`` (default 1 s), so a hot loop
of invokes does not read the store every time. A refresh made in this process drops the cached
entries of the account at once; a revocation made elsewhere is seen within that many seconds.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import httpx2

from plugboard.auth.factory import static_auth
from plugboard.auth.log_redaction import install_secret_log_filters
from plugboard.auth.oauth1 import OAuth1Auth
from plugboard.auth.oauth2 import AccessToken, OAuth2Auth, RefreshReason
from plugboard.auth.outbound import (
    OutboundPolicy,
    Resolver,
    async_guarded_client,
    guarded_client,
    system_resolver,
)
from plugboard.auth.retry import RetryPolicy, asend_with_retries, send_with_retries
from plugboard.domain.authorizations import (
    check_environment,
    default_environment,
    environment_key,
    is_stale,
    unusable_reason,
    usable,
    who_must_act,
)
from plugboard.domain.connections import AuthorizationSummary, Connection
from plugboard.domain.credentials import (
    Credential,
    OAuth1Credential,
    OAuth2Credential,
    auth_type_of,
    check_sendable,
    credential_from_data,
)
from plugboard.domain.hosts import check_credential_target
from plugboard.domain.models import ConnectionLevel, Environment, Role, Workspace
from plugboard.domain.naming import check_email
from plugboard.domain.permissions import Action, allowed, invoke_action, require
from plugboard.domain.principal import Principal
from plugboard.domain.service import RetrySettings, ServiceDefinition
from plugboard.domain.urls import MAX_URL_LENGTH, check_request_url, substitute, url_too_long
from plugboard.errors import (
    AuthorizationRequired,
    ConfigurationError,
    InvalidURL,
    NotFound,
    PermissionDenied,
    PlugboardError,
    UpstreamError,
    ValidationError,
)
from plugboard.store.unit import Unit
from plugboard.usecases.identity import member_to_act_as, workspace_for
from plugboard.usecases.refresh import RefreshCoordinator, RefreshRejected, RefreshTarget
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import resolve_service

__all__ = [
    "REPLAY_LIMIT",
    "ConnectionAuth",
    "Invoker",
    "Resolved",
    "replayable_body",
    "resolve",
]

# The largest request body that is kept in memory so the request can be sent again (see the
# module docstring); a larger one is streamed and sent once.
REPLAY_LIMIT = 64 * 1024

log = logging.getLogger("plugboard.invoke")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Resolved:
    """Everything an invoke needs, read in one transaction."""

    workspace: Workspace
    connection: Connection
    service: ServiceDefinition
    environment: Environment
    authorization: AuthorizationSummary
    account_id: str
    credential: Credential = field(repr=False)
    token_expires_at: datetime | None
    who_must_act: str
    oauth_client_id: str | None
    oauth_client_secret: str | None = field(repr=False)

    def required(self, reason: str) -> AuthorizationRequired:
        return AuthorizationRequired(
            self.connection.link_name, self.environment.value, self.who_must_act, reason
        )


def _calling_user(
    unit: Unit, actor: Principal, workspace: Workspace, as_user: str | None
) -> tuple[str | None, Role | None]:
    """(user id, role) of the person the invoke runs for; user id None means "no user"."""
    if as_user is not None:
        email = check_email(as_user, "as_user")
        if not (actor.is_operator or actor.acts_for_users or email == actor.email):
            raise PermissionDenied("invoke on behalf of another user", actor.role)
        membership = member_to_act_as(unit, actor, workspace, email)
        return membership.user.id, membership.role
    if actor.is_operator or actor.acts_for_users:
        return None, actor.role
    return actor.user_id, actor.role


def _oauth_client(
    unit: Unit, workspace_id: str, service: ServiceDefinition
) -> tuple[str | None, str | None]:
    if service.oauth2 is not None:
        client_id, secret = service.oauth2.client_id, service.oauth2.client_secret
    elif service.oauth1 is not None:
        client_id, secret = service.oauth1.consumer_key, service.oauth1.consumer_secret
    else:
        return None, None
    if client_id:
        return client_id, secret.get_secret_value() if secret is not None else None
    registered = unit.service_clients.find(workspace_id, service.link_name)
    if registered is None:
        return None, None
    return registered.client_id, registered.client_secret


def resolve(
    unit: Unit,
    actor: Principal,
    link_name: str,
    *,
    environment: str | None = None,
    as_user: str | None = None,
    workspace: str | None = None,
) -> Resolved:
    """SPEC §7 step 1. Raises NotFound, PermissionDenied or AuthorizationRequired."""
    ws = workspace_for(unit, actor, workspace)
    connection = unit.connections.get(ws.id, link_name)
    if connection.level is not ConnectionLevel.USER and not allowed(actor, Action.INVOKE_SHARED):
        raise NotFound("connection", link_name)  # hidden from the role, as on GET
    env = (
        check_environment(ws.kind, environment)
        if environment is not None
        else default_environment(ws.kind)
    )
    user_id, role = _calling_user(unit, actor, ws, as_user)
    if connection.level is ConnectionLevel.USER:
        for_self = user_id is not None and user_id == actor.user_id
        require(actor, invoke_action(connection.level, for_self=for_self))
    who = who_must_act(
        connection.level,
        role=role,
        is_operator=actor.is_operator and as_user is None,
        for_user=user_id is not None,
    )
    env_key = environment_key(connection.per_environment, env)
    if connection.level is ConnectionLevel.USER:
        found = unit.accounts.authorized_account(
            connection.id, env_key, user_id, primary=user_id is None
        )
    else:
        found = unit.accounts.authorized_account(connection.id, env_key, None)
    if found is None or found.account is None or not usable(found.authorization.status):
        status = found.authorization.status if found else None
        detail = found.authorization.status_detail if found else None
        raise AuthorizationRequired(
            connection.link_name, env.value, who, unusable_reason(status, detail)
        )
    try:
        service = resolve_service(unit, ws.id, connection.service_link_name).definition
    except NotFound:
        raise AuthorizationRequired(
            connection.link_name, env.value, who, "its service no longer exists"
        ) from None
    credential = credential_from_data(found.account.credential)
    if auth_type_of(credential) is not service.auth_type:
        raise AuthorizationRequired(
            connection.link_name,
            env.value,
            who,
            "the stored credential is not for the service's auth type",
        )
    try:
        check_sendable(service, credential)
    except ValidationError as exc:  # stored before values were checked on entry
        raise AuthorizationRequired(
            connection.link_name,
            env.value,
            who,
            f"the stored credential cannot be sent ({exc.field}: {exc.rule}): authorize again",
        ) from None
    client_id, client_secret = _oauth_client(unit, ws.id, service)
    return Resolved(
        workspace=ws,
        connection=connection,
        service=service,
        environment=env,
        authorization=found.authorization,
        account_id=found.account.id,
        credential=credential,
        token_expires_at=found.account.token_expires_at,
        who_must_act=who,
        oauth_client_id=client_id,
        oauth_client_secret=client_secret,
    )


# --- the OAuth 2 token source of one resolved authorization ----------------------------------


class _ConnectionTokens:
    """The TokenSource an OAuth2Auth uses: the stored token, refreshed through the process's
    RefreshCoordinator; a refused refresh becomes AuthorizationRequired for this caller."""

    def __init__(self, invoker: Invoker, resolved: Resolved, credential: OAuth2Credential):
        self._invoker = invoker
        self._resolved = resolved
        self._token = AccessToken(credential.access_token, resolved.token_expires_at)
        service = resolved.service
        assert service.oauth2 is not None
        token_url = substitute(
            service.oauth2.effective_refresh_url, resolved.connection.dynamic_values
        )
        self._target = RefreshTarget(
            account_id=resolved.account_id,
            connection=resolved.connection.link_name,
            token_url=token_url,
            client_id=resolved.oauth_client_id,
            client_secret=resolved.oauth_client_secret,
            auth_method=service.oauth2.token_endpoint_auth_method,
        )

    def current(self) -> AccessToken:
        return self._token

    def needs_refresh(self, token: AccessToken) -> bool:
        settings = self._invoker.runtime.settings
        return is_stale(
            token.expires_at, self._invoker.runtime.clock.now(), settings.refresh_skew_seconds
        )

    def refresh(self, token: AccessToken, reason: RefreshReason) -> AccessToken:
        try:
            return self._invoker.refresher.refresh(self._target, token, reason)
        except RefreshRejected as exc:
            raise self._resolved.required(_reason(exc)) from None

    async def arefresh(self, token: AccessToken, reason: RefreshReason) -> AccessToken:
        try:
            return await self._invoker.refresher.arefresh(self._target, token, reason)
        except RefreshRejected as exc:
            raise self._resolved.required(_reason(exc)) from None


def _reason(exc: RefreshRejected) -> str:
    return exc.message.split(": ", 1)[-1]


# --- the engine ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    resolved: Resolved
    auth: httpx2.Auth
    # Substituted URLs by template: a hot loop invokes the same few URLs.
    urls: dict[str, str] = field(default_factory=dict)


_CacheKey = tuple[Any, ...]


class Invoker:
    """Resolution cache, outbound clients and refresh coordinator of one process."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """The outbound policy is the settings' allowlist; ``resolver`` replaces the system's
        name resolution (the guard connects to what it returns) and ``verify`` is the TLS trust
        for every outbound request (True: the system's CA bundle)."""
        # pb.auth() hands credentials to the app's own httpx2 clients: their logs too.
        install_secret_log_filters()
        self.runtime = runtime
        settings = runtime.settings
        self.policy = OutboundPolicy(
            settings.outbound_allowlist_entries, resolver=resolver or system_resolver
        )
        self._timeout = settings.invoke_timeout_seconds
        self._verify = verify
        self._client = guarded_client(self.policy, timeout=self._timeout, verify=verify)
        self._async_clients: dict[asyncio.AbstractEventLoop, httpx2.AsyncClient] = {}
        self.refresher = RefreshCoordinator(
            runtime, self.policy, on_refreshed=self.forget_account, verify=verify
        )
        self._cache: dict[_CacheKey, tuple[float, _Entry]] = {}
        self._cache_lock = threading.Lock()
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP clients. Async clients of loops that still run must be closed with
        :meth:`aclose` from inside their loop first."""
        if self._closed:
            return
        self._closed = True
        self._client.close()
        self.refresher.close()
        for loop, client in list(self._async_clients.items()):
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(client.aclose())
        self._async_clients.clear()

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()

    def _async_client(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = async_guarded_client(self.policy, timeout=self._timeout, verify=self._verify)
            self._async_clients[loop] = client
        return client

    # -- resolution ---------------------------------------------------------------------------

    @staticmethod
    def _key(
        actor: Principal,
        link_name: str,
        environment: str | None,
        as_user: str | None,
        workspace: str | None,
    ) -> _CacheKey:
        return (
            actor.user_id,
            actor.workspace_id,
            actor.role,
            actor.acts_for_users,
            workspace,
            link_name,
            environment,
            as_user,
        )

    def _cached(self, key: _CacheKey) -> _Entry | None:
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def entry(
        self,
        actor: Principal,
        link_name: str,
        *,
        environment: str | None = None,
        as_user: str | None = None,
        workspace: str | None = None,
    ) -> _Entry:
        key = self._key(actor, link_name, environment, as_user, workspace)
        hit = self._cached(key)
        if hit is not None:
            return hit
        with self.runtime.unit(write=False) as unit:
            resolved = resolve(
                unit,
                actor,
                link_name,
                environment=environment,
                as_user=as_user,
                workspace=workspace,
            )
        found = _Entry(resolved, self.auth_for(resolved))
        ttl = self.runtime.settings.invoke_cache_seconds
        if ttl > 0:
            with self._cache_lock:
                self._cache[key] = (time.monotonic() + ttl, found)
        return found

    def forget_account(self, account_id: str) -> None:
        """Drop every cached resolution that uses the account (it was refreshed or expired)."""
        with self._cache_lock:
            stale = [k for k, (_, e) in self._cache.items() if e.resolved.account_id == account_id]
            for key in stale:
                del self._cache[key]

    def forget_all(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def auth_for(self, resolved: Resolved) -> httpx2.Auth:
        """The httpx2.Auth that injects the resolved credential."""
        service = resolved.service
        credential = resolved.credential
        if isinstance(credential, OAuth1Credential):
            assert service.oauth1 is not None
            if not resolved.oauth_client_id or resolved.oauth_client_secret is None:
                raise ConfigurationError(
                    f"service {service.link_name!r} has no OAuth 1 consumer key registered "
                    "in this workspace"
                )
            return OAuth1Auth(
                resolved.oauth_client_id,
                resolved.oauth_client_secret,
                credential.token,
                credential.token_secret,
                placement=service.oauth1.param_type,
            )
        if isinstance(credential, OAuth2Credential):
            assert service.oauth2 is not None
            return OAuth2Auth(
                _ConnectionTokens(self, resolved, credential),
                placement=service.oauth2.param_type,
                param_name=service.oauth2.effective_param_name,
                token_prefix=service.oauth2.effective_token_prefix,
                expiry_signals=service.oauth2.expiry_signals,
            )
        return static_auth(service, credential, resolved.connection.dynamic_values)

    # -- invoke -------------------------------------------------------------------------------

    def invoke(
        self,
        actor: Principal,
        url: str,
        method: str = "GET",
        *,
        connection: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        json: Any = None,
        environment: str | None = None,
        as_user: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_seconds: float | None = None,
        workspace: str | None = None,
    ) -> httpx2.Response:
        """SPEC §7. Returns the upstream response (any status); raises PlugboardError."""
        method = method.upper()
        target = url
        try:
            check_request_url(url)
            found = self.entry(
                actor, connection, environment=environment, as_user=as_user, workspace=workspace
            )
            target = self._target(found, url)
            options = _request_options(headers, params, data, json, timeout or self._timeout)
            policy = _retry_policy(found.resolved.service, max_attempts, max_retry_seconds)
            client = self._client

            def send() -> httpx2.Response:
                request = _build_request(client, method, target, options)
                return client.send(request, auth=found.auth)

            return send_with_retries(send, method, policy)
        except PlugboardError as exc:
            self._failed(actor, connection, environment, workspace, method, target, exc)
            raise
        except httpx2.HTTPError as exc:
            error = UpstreamError(_transport_message(method, target, exc))
            self._failed(actor, connection, environment, workspace, method, target, error)
            raise error from exc

    async def ainvoke(
        self,
        actor: Principal,
        url: str,
        method: str = "GET",
        *,
        connection: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        json: Any = None,
        environment: str | None = None,
        as_user: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_seconds: float | None = None,
        workspace: str | None = None,
    ) -> httpx2.Response:
        """:meth:`invoke` for asyncio: store reads run in a worker thread."""
        method = method.upper()
        target = url
        try:
            check_request_url(url)
            found = self._cached(self._key(actor, connection, environment, as_user, workspace))
            if found is None:
                found = await anyio.to_thread.run_sync(
                    lambda: self.entry(
                        actor,
                        connection,
                        environment=environment,
                        as_user=as_user,
                        workspace=workspace,
                    )
                )
            target = self._target(found, url)
            options = _request_options(headers, params, data, json, timeout or self._timeout)
            policy = _retry_policy(found.resolved.service, max_attempts, max_retry_seconds)
            client = self._async_client()
            auth = found.auth

            async def send() -> httpx2.Response:
                request = _build_request(client, method, target, options)
                return await client.send(request, auth=auth)

            return await asend_with_retries(send, method, policy)
        except PlugboardError as exc:
            await anyio.to_thread.run_sync(
                self._failed, actor, connection, environment, workspace, method, target, exc
            )
            raise
        except httpx2.HTTPError as exc:
            error = UpstreamError(_transport_message(method, target, exc))
            await anyio.to_thread.run_sync(
                self._failed, actor, connection, environment, workspace, method, target, error
            )
            raise error from exc

    @asynccontextmanager
    async def astream(
        self,
        actor: Principal,
        url: str,
        method: str = "GET",
        *,
        connection: str,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        base_url: str | None = None,
        environment: str | None = None,
        as_user: str | None = None,
        timeout: float | None = None,
        workspace: str | None = None,
    ) -> AsyncIterator[httpx2.Response]:
        """Send a request with the connection's credential and yield the upstream response
        unread (``aiter_raw``/``aiter_bytes`` it; it is closed when the block ends).

        ``url`` is a full URL or, starting with ``/``, a path (and query) appended verbatim to
        ``base_url`` or else to the service's base URL with its ``{dynamic}`` placeholders
        filled. ``content`` is bytes (sent again when needed) or an async stream (sent once;
        see :func:`replayable_body` and the module docstring). Raises like :meth:`ainvoke`.
        """
        method = method.upper()
        target = url
        try:
            check_request_url(url)
            found = self._cached(self._key(actor, connection, environment, as_user, workspace))
            if found is None:
                found = await anyio.to_thread.run_sync(
                    lambda: self.entry(
                        actor,
                        connection,
                        environment=environment,
                        as_user=as_user,
                        workspace=workspace,
                    )
                )
            target = self._stream_target(found.resolved, url, base_url)
            replayable = content is None or isinstance(content, bytes)
            auth = found.auth
            if replayable:
                policy = _retry_policy(found.resolved.service, None, None)
            else:
                policy = RetryPolicy(max_attempts=1)
                if isinstance(auth, OAuth2Auth):
                    auth = auth.without_replay()
            client = self._async_client()
            request_timeout = timeout or self._timeout

            _check_headers(headers)
            options = {"headers": headers, "content": content, "timeout": request_timeout}

            async def send() -> httpx2.Response:
                request = _build_request(client, method, target, options)
                return await client.send(request, auth=auth, stream=True)

            response = await asend_with_retries(send, method, policy)
        except PlugboardError as exc:
            await anyio.to_thread.run_sync(
                self._failed, actor, connection, environment, workspace, method, target, exc
            )
            raise
        except httpx2.HTTPError as exc:
            error = UpstreamError(_transport_message(method, target, exc))
            await anyio.to_thread.run_sync(
                self._failed, actor, connection, environment, workspace, method, target, error
            )
            raise error from exc
        try:
            yield response
        finally:
            await response.aclose()

    def _stream_target(self, resolved: Resolved, url: str, base_url: str | None) -> str:
        if not url.startswith("/"):
            if base_url is not None:
                raise ValidationError("url", "must be a path (starting with /) with a base URL")
            return check_request_url(substitute(url, resolved.connection.dynamic_values))
        if base_url is None:
            base = resolved.service.base_url
            if base is None:
                raise ValidationError(
                    "base_url",
                    f"service {resolved.service.link_name!r} has no base URL: send one",
                )
            base_url = substitute(base, resolved.connection.dynamic_values)
        target = check_request_url(base_url.rstrip("/") + url)
        self.check_target(resolved, target)
        return target

    def _target(self, found: _Entry, url: str) -> str:
        target = found.urls.get(url)
        if target is None:
            target = self._target_url(found.resolved, url)
            if len(found.urls) < 256:
                found.urls[url] = target
        return target

    def _target_url(self, resolved: Resolved, url: str) -> str:
        if url.startswith("/"):
            base = resolved.service.base_url
            if base is None:
                raise ValidationError(
                    "url",
                    f"service {resolved.service.link_name!r} has no base URL: give the service "
                    "one (its credential is only sent to that origin)",
                )
            url = base.rstrip("/") + url
        target = check_request_url(substitute(url, resolved.connection.dynamic_values))
        self.check_target(resolved, target)
        return target

    def check_target(self, resolved: Resolved, target: str) -> None:
        """Refuse (OutboundBlocked) a target that is not an origin of the service."""
        check_credential_target(
            resolved.service,
            resolved.connection.dynamic_values,
            target,
            self.runtime.settings.allow_http_host_entries,
        )

    def _failed(
        self,
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
            with self.runtime.unit() as unit:
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


def _build_request(
    client: httpx2.Client | httpx2.AsyncClient, method: str, target: str, options: dict[str, Any]
) -> httpx2.Request:
    """The request to send; a URL httpx2 cannot build (or too long once the parameters are
    added) is InvalidURL, without httpx2's message (it may quote the URL)."""
    params = options.get("params") or {}
    # The query is at least as long as its names and values: refuse before httpx2 builds it.
    if len(target) + sum(len(str(k)) + len(str(v)) for k, v in params.items()) > MAX_URL_LENGTH:
        raise url_too_long()
    try:
        request = client.build_request(method, target, **options)
    except httpx2.InvalidURL:
        raise InvalidURL("url", "invalid", "url: is not a valid URL") from None
    check_request_url(str(request.url))
    return request


_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HEADER_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is allowed inside


def _check_headers(headers: Mapping[str, str] | list[tuple[str, str]] | None) -> None:
    """ValidationError naming ``headers[i]`` (never the value) for a header that cannot be
    sent: a name that is not an HTTP token, a value with a control character or non-ASCII."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    for i, (name, value) in enumerate(pairs):
        field = f"headers[{i}]"
        if not _HEADER_NAME.match(name):
            raise ValidationError(field, "header_name", f"{field}: the name is not an HTTP token")
        if _HEADER_VALUE_CONTROL.search(value):
            raise ValidationError(
                field, "control_characters", f"{field}: the value has a control character"
            )
        if not value.isascii():
            raise ValidationError(field, "ascii", f"{field}: the value must be ASCII")


def _request_options(
    headers: Mapping[str, str] | None,
    params: Mapping[str, Any] | None,
    data: Mapping[str, Any] | str | bytes | None,
    json: Any,
    timeout: float,
) -> dict[str, Any]:
    _check_headers(headers)
    options: dict[str, Any] = {"headers": headers, "params": params, "timeout": timeout}
    if data is not None and json is not None:
        raise ValidationError("data", "give either data or json, not both")
    if json is not None:
        options["json"] = json
    elif isinstance(data, str | bytes):
        options["content"] = data
    elif data is not None:
        options["data"] = data
    return options


async def replayable_body(
    chunks: AsyncIterator[bytes], limit: int = REPLAY_LIMIT
) -> bytes | AsyncIterator[bytes]:
    """The whole body as bytes when it ends within ``limit`` bytes; otherwise a stream of the
    chunks already read followed by the rest (nothing is read twice, nothing more is kept)."""
    buffered: list[bytes] = []
    size = 0
    while size <= limit:
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return b"".join(buffered)
        buffered.append(chunk)
        size += len(chunk)

    async def rest() -> AsyncIterator[bytes]:
        for chunk in buffered:
            yield chunk
        buffered.clear()
        async for chunk in chunks:
            yield chunk

    return rest()


def _retry_policy(
    service: ServiceDefinition, max_attempts: int | None, max_seconds: float | None
) -> RetryPolicy:
    base = service.retry or RetrySettings()
    if max_attempts is not None and not 1 <= max_attempts <= 10:
        raise ValidationError("max_attempts", "must be between 1 and 10")
    if max_seconds is not None and not 0 < max_seconds <= 300:
        raise ValidationError("max_retry_seconds", "must be more than 0 and at most 300")
    return RetryPolicy(
        max_attempts=max_attempts if max_attempts is not None else base.max_attempts,
        max_seconds=max_seconds if max_seconds is not None else base.max_seconds,
    )


def _transport_message(method: str, target: str, exc: httpx2.HTTPError) -> str:
    try:
        host = urlsplit(target).hostname or "?"
    except ValueError:
        host = "?"
    kind = type(exc).__name__
    # A network or timeout error's message names the failure ("[Errno 111] Connection
    # refused"); a protocol error's may quote a header of the request or the answer (a
    # credential): only its type is told.
    text = (
        str(exc).strip() if isinstance(exc, httpx2.NetworkError | httpx2.TimeoutException) else ""
    )
    first = text.splitlines()[0][:200] if text else ""
    return f"{method} to {host} failed: {kind}" + (f" ({first})" if first else "")


# --- pb.auth(link_name): an httpx2.Auth for any client ---------------------------------------


class ConnectionAuth(httpx2.Auth):
    """Injects a connection's credential into requests of any httpx2 client.

    Resolves the authorization on each request (through the invoker's short cache), so a
    switched or revoked authorization takes effect without rebuilding the client. The URL is
    used as given (no placeholder substitution) and the outbound guard is the client's
    business.
    """

    def __init__(
        self,
        invoker: Invoker,
        actor: Principal,
        link_name: str,
        *,
        environment: str | None = None,
        as_user: str | None = None,
        workspace: str | None = None,
    ) -> None:
        self._invoker = invoker
        self._actor = actor
        self.link_name = link_name
        self.environment = environment
        self._as_user = as_user
        self._workspace = workspace

    def __repr__(self) -> str:
        return f"ConnectionAuth(link_name={self.link_name!r}, environment={self.environment!r})"

    def _inner(self, request: httpx2.Request) -> httpx2.Auth:
        entry = self._invoker.entry(
            self._actor,
            self.link_name,
            environment=self.environment,
            as_user=self._as_user,
            workspace=self._workspace,
        )
        resolved = entry.resolved
        self._invoker.check_target(resolved, str(request.url))
        return entry.auth

    def sync_auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        yield from self._inner(request).sync_auth_flow(request)

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        inner = await anyio.to_thread.run_sync(self._inner, request)
        flow = inner.async_auth_flow(request)
        step = await flow.__anext__()
        while True:
            response = yield step
            try:
                step = await flow.asend(response)
            except StopAsyncIteration:
                return

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        return self.sync_auth_flow(request)
