"""What an :class:`~plugboard.usecases.invoke.Invoker` keeps between invokes: the resolution of a
(principal, connection) pair with its Auth (:mod:`plugboard.usecases.invoke_cache`, one store
read in flight per key), and per resolution the :class:`~plugboard.usecases.invoke_requests.Plan`
of each URL it was invoked with."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio.to_thread
import httpx2

from plugboard.domain.principal import Principal
from plugboard.usecases.invoke_audit import InvokeCall
from plugboard.usecases.invoke_cache import Entry, ResolutionCache
from plugboard.usecases.invoke_invalidation import resolution_generation
from plugboard.usecases.invoke_requests import Plan, make_plan, retry_policy
from plugboard.usecases.invoke_resolution import Resolved, resolve
from plugboard.usecases.invoke_targets import check_target, target_url
from plugboard.usecases.invoke_tokens import credential_auth
from plugboard.usecases.runtime import Runtime

if TYPE_CHECKING:
    from plugboard.usecases.refresh import RefreshCoordinator

__all__ = ["Resolutions"]


class Resolutions:
    """The resolution half of :class:`~plugboard.usecases.invoke.Invoker` (its base class)."""

    runtime: Runtime
    refresher: RefreshCoordinator
    _cache: ResolutionCache
    _client: httpx2.Client

    def entry(
        self,
        actor: Principal,
        link_name: str,
        *,
        environment: str | None = None,
        as_user: str | None = None,
        workspace: str | None = None,
    ) -> Entry:
        key = ResolutionCache.key(actor, link_name, environment, as_user, workspace)
        hit = self._cache.get(key)
        if hit is not None:
            return hit

        def load() -> Entry:
            again = self._cache.get(key)  # read while this caller waited for the lock
            if again is not None:
                return again
            generation = resolution_generation()
            with self.runtime.unit(write=False) as unit:
                resolved = resolve(
                    unit,
                    actor,
                    link_name,
                    environment=environment,
                    as_user=as_user,
                    workspace=workspace,
                )
            found = Entry(resolved, self.auth_for(resolved))
            self._cache.put(key, found, self.runtime.settings.invoke_cache_seconds, generation)
            return found

        return self._cache.single_flight(key, load)

    def forget_account(self, account_id: str) -> None:
        """Drop every cached resolution that uses the account (it was refreshed or expired)."""
        self._cache.forget_account(account_id)

    def forget_all(self) -> None:
        self._cache.clear()

    def auth_for(self, resolved: Resolved) -> httpx2.Auth:
        """The httpx2.Auth that injects the resolved credential."""
        return credential_auth(self, resolved)

    async def _aentry(self, call: InvokeCall) -> Entry:
        found = self._cache.get(
            ResolutionCache.key(
                call.actor, call.connection, call.environment, call.as_user, call.workspace
            )
        )
        if found is not None:
            return found
        return await anyio.to_thread.run_sync(
            lambda: self.entry(
                call.actor,
                call.connection,
                environment=call.environment,
                as_user=call.as_user,
                workspace=call.workspace,
            )
        )

    def _plan(
        self, found: Entry, url: str, max_attempts: int | None, max_retry_seconds: float | None
    ) -> Plan:
        """The entry's plan for ``url``, made once (a hot loop invokes the same few URLs)."""
        key = (url, max_attempts, max_retry_seconds)
        plan = found.plans.get(key)
        if plan is None:
            plan = make_plan(
                target_url(found.resolved, url, self.runtime.settings.allow_http_host_entries),
                retry_policy(found.resolved.service, max_attempts, max_retry_seconds),
                self._client.headers,
                found.auth,
            )
            if len(found.plans) < 256:
                found.plans[key] = plan
        return plan

    def check_target(self, resolved: Resolved, target: str) -> None:
        """Refuse (OutboundBlocked) a target that is not an origin of the service."""
        check_target(resolved, target, self.runtime.settings.allow_http_host_entries)
