"""Authorizations as one usecase service bound to (runtime, acting principal): each call owns
its transaction (or its consent engine) and returns public records. The REST routes call it and
the embedded client's ``pb.authorizations`` is it."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence

from plugboard.domain.principal import Principal
from plugboard.records import AuthorizationListItem, AuthorizationPublic, RevokeResult
from plugboard.store.authorizations import AuthorizationKey
from plugboard.usecases import authorizations as authorization_usecases
from plugboard.usecases import credentials_entry
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.paging import KeysetPage, fetch_one_more, keyset_page
from plugboard.usecases.runtime import Runtime

__all__ = ["AuthorizationKey", "Authorizations", "AuthorizationsPage"]

AuthorizationsPage = KeysetPage[AuthorizationListItem, AuthorizationKey]


def _listing_key(item: AuthorizationListItem) -> AuthorizationKey:
    return (item.environment, item.owner_email or "", item.id)


class Authorizations:
    def __init__(
        self,
        runtime: Runtime,
        actor: Principal,
        workspace: str | None = None,
        *,
        flows: ConsentFlows | None = None,
    ) -> None:
        """``flows`` is a long-lived consent engine to revoke through (a server's); without one,
        each revoke opens and closes its own."""
        self._runtime = runtime
        self._actor = actor
        self._workspace = workspace
        self._flows = flows

    def page(
        self,
        link_name: str,
        *,
        search: str | None = None,
        user_type: str | None = None,
        environment: str | None = None,
        after: AuthorizationKey | None = None,
        limit: int | None = None,
    ) -> AuthorizationsPage:
        """One page of a connection's authorizations in (environment, owner e-mail, id) order,
        filtered and paged in SQL, and the key the next page starts after."""
        with self._runtime.unit(write=False) as unit:
            rows = authorization_usecases.list_authorizations(
                unit, self._actor, connection=link_name, search=search, user_type=user_type,
                environment=environment, workspace=self._workspace, after=after,
                limit=fetch_one_more(limit),
            )  # fmt: skip
        found = [
            AuthorizationListItem.listed(r.summary, r.owner_email, r.owner_name, r.owner_role)
            for r in rows
        ]
        return keyset_page(found, limit, _listing_key)

    def list(
        self,
        link_name: str,
        *,
        search: str | None = None,
        user_type: str | None = None,
        environment: str | None = None,
    ) -> builtins.list[AuthorizationListItem]:
        """Every authorization of the connection, in the order of :meth:`page`."""
        return self.page(
            link_name, search=search, user_type=user_type, environment=environment
        ).items

    def enter_credential(
        self,
        link_name: str,
        values: Mapping[str, str],
        *,
        environments: Sequence[str] = (),
        owner: str | None = None,
        account_name: str | None = None,
        test: bool = True,
    ) -> builtins.list[AuthorizationListItem]:
        """Authorize an API key, Basic or AWS connection (the service's test call first)."""
        summaries = credentials_entry.enter_credential(
            self._runtime, self._actor, connection=link_name, values=values,
            environments=environments, owner=owner, account_name=account_name, test=test,
            workspace=self._workspace,
        )  # fmt: skip
        return [AuthorizationListItem.listed(s, None, None, None) for s in summaries]

    def revoke(
        self, link_name: str, *, environment: str | None = None, owner: str | None = None
    ) -> RevokeResult:
        flows = self._flows or ConsentFlows(self._runtime)
        try:
            outcome = flows.revoke(
                self._actor, connection=link_name, environment=environment, owner=owner,
                workspace=self._workspace,
            )  # fmt: skip
        finally:
            if flows is not self._flows:
                flows.close()
        return RevokeResult(
            status=outcome.authorization_status,
            primary_warning=outcome.primary_warning,
            provider=outcome.provider,
        )

    def rename(
        self,
        link_name: str,
        name: str,
        *,
        environment: str | None = None,
        owner: str | None = None,
    ) -> AuthorizationPublic:
        """Rename the authorized account's display name."""
        with self._runtime.unit() as unit:
            summary = authorization_usecases.rename_account(
                unit, self._actor, connection=link_name, name=name, environment=environment,
                owner=owner, workspace=self._workspace,
            )  # fmt: skip
        return AuthorizationPublic.of(summary)

    def reuse(
        self, link_name: str, account: str, *, environment: str = "all", owner: str | None = None
    ) -> AuthorizationPublic:
        """Authorize (or switch) an environment with an account already linked."""
        with self._runtime.unit() as unit:
            summary = authorization_usecases.reuse_account(
                unit, self._actor, connection=link_name, environment=environment,
                account=account, owner=owner, workspace=self._workspace,
            )  # fmt: skip
        return AuthorizationPublic.of(summary)

    def set_primary(
        self, link_name: str, *, owner: str, environment: str | None = None
    ) -> AuthorizationPublic:
        """Make ``owner``'s account the primary one (super admins only)."""
        with self._runtime.unit() as unit:
            summary = authorization_usecases.mark_primary(
                unit, self._actor, connection=link_name, owner=owner, environment=environment,
                workspace=self._workspace,
            )  # fmt: skip
        return AuthorizationPublic.of(summary)
