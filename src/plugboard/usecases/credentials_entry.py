"""Entering an API key, Basic or AWS credential (SPEC §5), checked against the service's
`test_url` before it is saved when the service defines one."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import httpx2

from plugboard.auth.factory import static_auth
from plugboard.domain.authorizations import may_authorize
from plugboard.domain.connections import AuthorizationSummary, Connection
from plugboard.domain.credentials import (
    ApiKeyCredential,
    AwsCredential,
    BasicCredential,
    check_credential,
)
from plugboard.domain.models import AuthType, ConnectionLevel
from plugboard.domain.principal import Principal
from plugboard.domain.service import ServiceDefinition
from plugboard.domain.urls import substitute
from plugboard.errors import NotFound, PlugboardError, ValidationError
from plugboard.usecases.authorizations import check_may_replace, link_credential
from plugboard.usecases.connections import get_connection
from plugboard.usecases.consent_setup import environment_keys
from plugboard.usecases.link_failures import record_failed_attempt
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import resolve_service

Entered = ApiKeyCredential | BasicCredential | AwsCredential


def credential_from_values(service: ServiceDefinition, values: Mapping[str, str]) -> Entered:
    """What a person typed, by field name: API key parameter names (or their display names),
    `username`/`password`, or `access_key`/`secret_key`/`session_token`."""
    if service.auth_type is AuthType.API_KEY:
        assert service.api_key is not None
        by_label = {p.display_name: p.name for p in service.api_key.parameters}
        return ApiKeyCredential({by_label.get(k, k): v for k, v in values.items()})
    if service.auth_type is AuthType.BASIC:
        _only(values, {"username", "password"})
        return BasicCredential(_required(values, "username"), _required(values, "password"))
    if service.auth_type is AuthType.AWS_SIGV4:
        _only(values, {"access_key", "secret_key", "session_token"})
        return AwsCredential(
            _required(values, "access_key"),
            _required(values, "secret_key"),
            values.get("session_token") or None,
        )
    raise ValidationError(
        "credential",
        f"{service.link_name!r} uses {service.auth_type.value}: authorize it by consent",
    )


def _only(values: Mapping[str, str], allowed: set[str]) -> None:
    for key in values:
        if key not in allowed:
            raise ValidationError(
                f"credential.{key}", f"is not one of {', '.join(sorted(allowed))}"
            )


def _required(values: Mapping[str, str], key: str) -> str:
    value = values.get(key, "")
    if not value:
        raise ValidationError(f"credential.{key}", "a value is required")
    return value


def enter_credential(
    runtime: Runtime,
    actor: Principal,
    *,
    connection: str,
    values: Mapping[str, str],
    environments: Sequence[str] = (),
    owner: str | None = None,
    account_name: str | None = None,
    test: bool = True,
    workspace: str | None = None,
) -> list[AuthorizationSummary]:
    with runtime.unit(write=False) as unit:
        conn = get_connection(unit, actor, connection, workspace=workspace)
        service = resolve_service(unit, conn.workspace_id, conn.service_link_name).definition
        credential = credential_from_values(service, values)
        check_credential(service, credential)
        slots = environment_keys(unit, conn.workspace_id, conn, environments)
    if test and service.test_url:
        try:
            _test_call(runtime, service, credential, conn.dynamic_values)
        except ValidationError as exc:
            _record_refusal(runtime, actor, conn, slots, owner, exc.rule)
            raise
    with runtime.unit() as unit:
        owner_id = (
            (unit.users.get(owner).id if owner else actor.user_id)
            if conn.level.value == "user"
            else None
        )
        check_may_replace(unit, actor, conn, slots, owner_id)
        return link_credential(
            unit, actor, connection=connection, credential=credential, environments=slots,
            owner=owner, account_name=account_name, workspace=workspace,
        )  # fmt: skip


def _record_refusal(
    runtime: Runtime,
    actor: Principal,
    conn: Connection,
    slots: Sequence[str],
    owner: str | None,
    error: str,
) -> None:
    """The service's test call refused the credential: the authorization is failed, with why
    -- when the actor may authorize it at all (else the refusal changes nothing)."""
    with runtime.unit() as unit:
        if conn.level is ConnectionLevel.USER:
            try:
                owner_id = unit.users.get(owner).id if owner else actor.user_id
            except NotFound:
                return
            if owner_id is None:
                return
        else:
            owner_id = None
        if not may_authorize(actor, conn.level, owner_id):
            return
        record_failed_attempt(
            unit, actor, connection=conn, environments=slots, owner_user_id=owner_id,
            error=error, attempted_by=actor.user_id,
        )  # fmt: skip


def _test_call(
    runtime: Runtime, service: ServiceDefinition, credential: Entered, values: Mapping[str, str]
) -> None:
    """The service's own check: a 2xx means the credential works; anything else refuses it."""
    assert service.test_url is not None
    settings = runtime.settings
    with runtime.outbound.client(
        auth=static_auth(service, credential, values), timeout=settings.invoke_timeout_seconds
    ) as http:
        try:
            response = http.get(substitute(service.test_url, values))
        except httpx2.HTTPError as exc:
            raise ValidationError(
                "credential", f"the service's test call failed to connect ({type(exc).__name__})"
            ) from None
        except PlugboardError as exc:
            raise ValidationError(
                "credential", f"the test call was refused: {exc.message}"
            ) from None
    if not 200 <= response.status_code < 300:
        said = _error_code(response)
        raise ValidationError(
            "credential",
            f"the service refused it: its test call answered HTTP {response.status_code}"
            + (f" ({said})" if said else ""),
        )


_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")


def _error_code(response: httpx2.Response) -> str | None:
    """The service's error code from a JSON body (``error``, ``code``, ``__type``): a short
    identifier only, so no free text -- which might echo the credential -- is ever kept."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    for key in ("error", "code", "__type"):
        value = body.get(key)
        if isinstance(value, str) and _ERROR_CODE.fullmatch(value):
            return value
    return None
