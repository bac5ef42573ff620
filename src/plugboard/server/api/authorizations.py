"""/connections/{link}/consents and /connections/{link}/authorizations"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from plugboard.records import (
    AuthorizationListItem,
    AuthorizationPublic,
    ConsentStarted,
    ConsentStatus,
    RevokeResult,
)
from plugboard.server.deps import ConsentFlowsDep, CurrentPrincipal, RuntimeDep
from plugboard.server.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    cursor_texts,
    encode_cursor,
)
from plugboard.server.schemas import (
    AccountRename,
    AccountReuse,
    AuthorizationSlot,
    ConsentCreate,
    CredentialEntry,
    PrimaryMove,
)
from plugboard.usecases.authorization_service import Authorizations
from plugboard.usecases.consent_service import Consents

router = APIRouter(tags=["authorizations"])


@router.post("/connections/{link_name}/consents", status_code=status.HTTP_201_CREATED)
def start_consent(
    link_name: str,
    body: ConsentCreate,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    flows: ConsentFlowsDep,
) -> ConsentStarted:
    """Start an OAuth consent; the person has 90 seconds from now to complete it."""
    return Consents(runtime, principal, flows).start(link_name, environments=body.environments)


@router.get("/consents/{flow_id}")
def consent_status(
    flow_id: str, runtime: RuntimeDep, principal: CurrentPrincipal, flows: ConsentFlowsDep
) -> ConsentStatus:
    """Whether a consent you started is pending, completed, failed or expired."""
    return Consents(runtime, principal, flows).status(flow_id)


@router.get("/connections/{link_name}/authorizations")
def list_authorizations(
    link_name: str,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    search: Annotated[str | None, Query(description="Text in the owner's name or e-mail.")] = None,
    user_type: Annotated[str | None, Query(description="The owner's role.")] = None,
    environment: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[AuthorizationListItem]:
    after = cursor_texts(cursor, 3)
    found = Authorizations(runtime, principal).page(
        link_name, search=search, user_type=user_type, environment=environment,
        after=None if after is None else (after[0], after[1], after[2]), limit=limit,
    )  # fmt: skip
    next_cursor = None if found.next_key is None else encode_cursor(found.next_key)
    return Page(items=found.items, next_cursor=next_cursor)


@router.post("/connections/{link_name}/credentials", status_code=status.HTTP_201_CREATED)
def enter_credential(
    link_name: str, body: CredentialEntry, runtime: RuntimeDep, principal: CurrentPrincipal
) -> list[AuthorizationPublic]:
    """Authorize an API key, Basic or AWS connection with a credential (checked by the
    service's test call first, unless `test` is false). The response never repeats it."""
    return list(
        Authorizations(runtime, principal).enter_credential(
            link_name,
            body.values,
            environments=body.environments,
            owner=body.owner,
            account_name=body.account_name,
            test=body.test,
        )  # fmt: skip
    )


@router.post("/connections/{link_name}/authorizations/revoke")
def revoke(
    link_name: str,
    body: AuthorizationSlot,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    flows: ConsentFlowsDep,
) -> RevokeResult:
    """Delete the credential (and revoke the token at the provider when nobody else uses it)."""
    return Authorizations(runtime, principal, flows=flows).revoke(
        link_name, environment=body.environment, owner=body.owner
    )


@router.post("/connections/{link_name}/authorizations/rename")
def rename(
    link_name: str, body: AccountRename, runtime: RuntimeDep, principal: CurrentPrincipal
) -> AuthorizationPublic:
    return Authorizations(runtime, principal).rename(
        link_name, body.name, environment=body.environment, owner=body.owner
    )


@router.post("/connections/{link_name}/authorizations/reuse")
def reuse(
    link_name: str, body: AccountReuse, runtime: RuntimeDep, principal: CurrentPrincipal
) -> AuthorizationPublic:
    """Authorize (or switch) an environment with an account already linked to the connection."""
    return Authorizations(runtime, principal).reuse(
        link_name, body.account, environment=body.environment, owner=body.owner
    )


@router.post("/connections/{link_name}/authorizations/primary")
def mark_primary(
    link_name: str, body: PrimaryMove, runtime: RuntimeDep, principal: CurrentPrincipal
) -> AuthorizationPublic:
    """Move the primary account (super admins only)."""
    return Authorizations(runtime, principal).set_primary(
        link_name, owner=body.owner, environment=body.environment
    )
