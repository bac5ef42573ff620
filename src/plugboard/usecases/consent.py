"""The consent flows (SPEC §5): OAuth 2 authorization code with PKCE, OAuth 1.0a three-legged.

`start()` records a pending flow (its single-use state dies after 90 seconds) and returns the URL
to send the person to; the provider redirects back to `/oauth/callback`, where `complete()`
claims the flow, exchanges the code or verifier for tokens, learns the account name and stores
the credential. Network calls never happen inside a database transaction, and the flow is
claimed *before* the exchange, so a replayed state can never store a second credential.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from plugboard.auth.token_endpoint import TokenEndpointError, request_token, revoke_token
from plugboard.domain.authorizations import may_authorize, parse_token_response
from plugboard.domain.connections import Connection
from plugboard.domain.credentials import Credential, OAuth2Credential
from plugboard.domain.models import AuthType, ConnectionLevel
from plugboard.domain.oauth import (
    CONSENT_WINDOW_SECONDS,
    EXCHANGING,
    CallbackParams,
    FlowState,
    PendingFlow,
    callback_url,
    expiry,
    new_state,
    oauth2_authorize_url,
    state_hash,
)
from plugboard.domain.permissions import require_person
from plugboard.domain.principal import Principal, user_principal
from plugboard.domain.service import ServiceDefinition
from plugboard.domain.urls import pkce_pair, substitute
from plugboard.errors import PermissionDenied, PlugboardError, ValidationError
from plugboard.store.unit import Unit
from plugboard.usecases import authorizations
from plugboard.usecases.authorizations import link_credential
from plugboard.usecases.consent_provider import (
    oauth1_access_token,
    oauth1_request_token,
    provider_account_name,
)
from plugboard.usecases.consent_results import ConsentResult, ConsentStart, RevokeOutcome
from plugboard.usecases.consent_setup import environment_keys, service_with_client
from plugboard.usecases.credentials import becomes_primary
from plugboard.usecases.identity import workspace_for
from plugboard.usecases.link_failures import record_failed_attempt
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import resolve_service

__all__ = [
    "ConsentFlows",
    "ConsentResult",
    "ConsentStart",
    "RevokeOutcome",
]


class ConsentFlows:
    """Starts and completes consents for one runtime. Holds the outbound HTTP client."""

    def __init__(self, runtime: Runtime, *, window_seconds: float | None = None) -> None:
        self.runtime = runtime
        self.window_seconds = window_seconds or CONSENT_WINDOW_SECONDS
        settings = runtime.settings
        self._http = runtime.outbound.client(timeout=settings.token_request_timeout_seconds)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConsentFlows:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- start ----------------------------------------------------------------------------------

    def start(
        self,
        actor: Principal,
        *,
        connection: str,
        environments: Sequence[str] = (),
        workspace: str | None = None,
        replace_authorization_id: str | None = None,
    ) -> ConsentStart:
        require_person(actor, "start a consent")
        if actor.is_operator or actor.user_id is None:
            raise ValidationError("as", "a consent is given by a person: act as a member (--as)")
        with self.runtime.unit(write=False) as unit:
            ws = workspace_for(unit, actor, workspace)
            conn = unit.connections.get(ws.id, connection)
            owner = actor.user_id if conn.level is ConnectionLevel.USER else None
            if not may_authorize(actor, conn.level, owner):
                raise PermissionDenied(f"authorize connection {connection!r}", actor.role)
            entry = resolve_service(unit, ws.id, conn.service_link_name)
            definition = service_with_client(unit, ws.id, entry)
            env_keys = environment_keys(unit, ws.id, conn, environments)
            authorizations.check_may_replace(unit, actor, conn, env_keys, owner)
            if conn.level is ConnectionLevel.USER:
                # Refused now, before anyone consents, as credential entry is (SPEC §4).
                for env_key in env_keys:
                    becomes_primary(unit, conn, env_key, owner, actor.role)
        state = new_state()
        redirect_uri = callback_url(self.runtime.settings.base_url)
        if definition.auth_type is AuthType.OAUTH2:
            assert definition.oauth2 is not None and definition.oauth2.client_id is not None
            verifier, challenge = pkce_pair() if definition.oauth2.pkce else (None, None)
            url = oauth2_authorize_url(
                definition,
                dynamic_values=conn.dynamic_values,
                client_id=definition.oauth2.client_id,
                redirect_uri=redirect_uri,
                scopes=conn.scopes,
                state=state,
                code_challenge=challenge,
            )
            secrets = {"code_verifier": verifier} if verifier else {}
        elif definition.auth_type is AuthType.OAUTH1:
            url, secrets = oauth1_request_token(self._http, definition, conn, redirect_uri, state)
        else:
            raise ValidationError(
                "connection",
                f"{connection!r} uses {definition.auth_type.value}: enter its credential "
                "instead of a consent",
            )
        with self.runtime.unit() as unit:
            now = unit.now()
            flow = unit.flows.add(
                workspace_id=ws.id,
                connection_id=conn.id,
                initiated_by=actor.user_id,
                owner_user_id=owner,
                environments=env_keys,
                redirect_uri=redirect_uri,
                state_hash=state_hash(state),
                secrets=secrets,
                now=now,
                expires_at=expiry(now, self.window_seconds),
                replace_authorization_id=replace_authorization_id,
            )
            unit.record(
                actor=actor, action="authorization.start", object_type="connection",
                object_id=conn.id, workspace_id=ws.id,
                detail={"connection": conn.link_name, "environments": env_keys, "flow": flow.id},
            )  # fmt: skip
        return ConsentStart(flow.id, url, flow.expires_at)

    # -- revoke ---------------------------------------------------------------------------------

    def revoke(
        self,
        actor: Principal,
        *,
        connection: str,
        environment: str | None = None,
        owner: str | None = None,
        workspace: str | None = None,
    ) -> RevokeOutcome:
        """Revoke locally (one transaction), then tell the provider when the account is gone
        for good and the service has a revoke endpoint (RFC 7009). A provider failure does not
        undo the local revoke: the credential is deleted either way."""
        with self.runtime.unit() as unit:
            result = authorizations.revoke(
                unit, actor, connection=connection, environment=environment, owner=owner,
                workspace=workspace,
            )  # fmt: skip
            conn = unit.connections.by_id(result.authorization.connection_id)
            entry = resolve_service(unit, conn.workspace_id, conn.service_link_name)
            try:
                service: ServiceDefinition | None = service_with_client(
                    unit, conn.workspace_id, entry
                )
            except ValidationError:
                service = None
        status = result.authorization.status.value
        call = result.provider_call
        config = service.oauth2 if service is not None else None
        if call is None:
            provider = "not called: another authorization still uses this account"
        elif config is None or config.revoke_url is None:
            provider = "not called: the service has no revoke endpoint"
        else:
            token, hint = (
                (call["refresh_token"], "refresh_token")
                if call.get("refresh_token")
                else (call.get("access_token", ""), "access_token")
            )
            error = revoke_token(
                self._http,
                substitute(config.revoke_url, conn.dynamic_values),
                token,
                hint,
                client_id=config.client_id,
                client_secret=config.client_secret.get_secret_value()
                if config.client_secret
                else None,
                auth_method=config.token_endpoint_auth_method,
            )
            provider = "revoked" if error is None else f"failed: {error.message}"
        return RevokeOutcome(status, result.primary_warning, provider)

    # -- complete -------------------------------------------------------------------------------

    def status(self, flow_id: str) -> tuple[FlowState, str | None]:
        """For a waiting CLI: the flow's state and its outcome text."""
        with self.runtime.unit(write=False) as unit:
            flow = unit.flows.by_id(flow_id)
            return flow.state_at(unit.now()), flow.outcome

    def complete(self, query: Mapping[str, str]) -> ConsentResult:
        """Handle the provider's redirect. Every failure changes nothing but the flow itself."""
        params = CallbackParams.from_query(query)
        if not params.state:
            return ConsentResult(False, "The callback carries no state: nothing was changed.")
        claimed = self._claim(params)
        if isinstance(claimed, ConsentResult):
            return claimed
        flow, secrets, actor, conn, service = claimed
        try:
            credential, account_name, expires_at = self._exchange(
                flow, secrets, params, conn, service
            )
            with self.runtime.unit() as unit:
                owner = unit.users.by_id(flow.owner_user_id).email if flow.owner_user_id else None
                link_credential(
                    unit, actor, connection=conn.link_name, credential=credential,
                    environments=flow.environments, owner=owner, account_name=account_name,
                    expires_at=expires_at, replace_authorization_id=flow.replace_authorization_id,
                )  # fmt: skip
        except PlugboardError as exc:
            self._finish(flow, f"failed: {exc.message}")
            self._audit_failure(
                flow, actor, conn, exc.rule if isinstance(exc, ValidationError) else exc.message
            )
            return ConsentResult(False, f"Authorization failed: {exc.message}", conn.link_name)
        name = account_name or "the account"
        self._finish(flow, f"connected: {name}")
        return ConsentResult(
            True,
            f"Connected {name} to {conn.name}.",
            conn.link_name,
            account_name,
            flow.environments,
        )

    def _claim(
        self, params: CallbackParams
    ) -> (
        ConsentResult | tuple[PendingFlow, dict[str, str], Principal, Connection, ServiceDefinition]
    ):
        assert params.state is not None
        with self.runtime.unit() as unit:
            now = unit.now()
            flow = unit.flows.by_state_hash(state_hash(params.state))
            if flow is None:
                return ConsentResult(
                    False, "Unknown or forged state: this consent was not started here."
                )
            if flow.consumed_at is not None:
                return ConsentResult(
                    False, "This consent was already used; start a new one to authorize again."
                )
            if flow.state_at(now) is FlowState.EXPIRED:
                unit.flows.consume(flow, now, "failed: expired")
                return ConsentResult(
                    False,
                    f"The {int(self.window_seconds)}-second consent window passed; "
                    "start the authorization again.",
                )
            secrets = unit.flows.secrets_of(flow)
            conn = unit.connections.by_id(flow.connection_id)
            if params.error:
                described = f": {params.error_description}" if params.error_description else ""
                outcome = f"failed: the provider said {params.error}{described}"
                unit.flows.consume(flow, now, outcome[:500])
                unit.record(
                    actor="provider", action="authorization.denied", object_type="connection",
                    object_id=flow.connection_id, workspace_id=flow.workspace_id,
                    outcome="failed", detail={"error": params.error},
                )  # fmt: skip
                record_failed_attempt(
                    unit, "provider", connection=conn, environments=flow.environments,
                    owner_user_id=flow.owner_user_id, error=outcome.removeprefix("failed: "),
                    attempted_by=flow.initiated_by,
                )  # fmt: skip
                return ConsentResult(
                    False,
                    f"The provider did not authorize ({params.error}){described}. "
                    "Nothing was changed.",
                    conn.link_name,
                )
            if not unit.flows.consume(flow, now, EXCHANGING):
                return ConsentResult(False, "This consent was already used.")
            actor = _initiator(unit, flow)
            entry = resolve_service(unit, flow.workspace_id, conn.service_link_name)
            service = service_with_client(unit, flow.workspace_id, entry)
        return flow, secrets, actor, conn, service

    def _exchange(
        self,
        flow: PendingFlow,
        secrets: Mapping[str, str],
        params: CallbackParams,
        conn: Connection,
        service: ServiceDefinition,
    ) -> tuple[Credential, str | None, datetime | None]:
        if service.auth_type is AuthType.OAUTH1:
            return oauth1_access_token(self._http, secrets, params, conn, service)
        config = service.oauth2
        assert config is not None
        if not params.code:
            raise ValidationError("code", "the provider sent no authorization code")
        grant: dict[str, str] = {"code": params.code, "redirect_uri": flow.redirect_uri}
        if "code_verifier" in secrets:
            grant["code_verifier"] = secrets["code_verifier"]
        data = request_token(
            self._http,
            substitute(config.token_url, conn.dynamic_values),
            "authorization_code",
            grant,
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value() if config.client_secret else None,
            auth_method=config.token_endpoint_auth_method,
        )
        if isinstance(data, TokenEndpointError):
            raise ValidationError("code", f"the code exchange failed: {data.message}")
        with self.runtime.unit(write=False) as unit:
            now = unit.now()
        grant_result = parse_token_response(data, now)
        credential = OAuth2Credential(
            grant_result.access_token,
            grant_result.refresh_token,
            grant_result.token_type,
            grant_result.scope,
        )
        name = provider_account_name(self._http, service, conn, data, credential.access_token)
        return credential, name, grant_result.expires_at

    def _finish(self, flow: PendingFlow, outcome: str) -> None:
        with self.runtime.unit() as unit:
            unit.flows.set_outcome(flow, outcome)

    def _audit_failure(
        self, flow: PendingFlow, actor: Principal, conn: Connection, why: str
    ) -> None:
        with self.runtime.unit() as unit:
            unit.record(
                actor=actor, action="authorization.create", object_type="connection",
                object_id=conn.id, workspace_id=flow.workspace_id,
                outcome="failed", detail={"connection": conn.link_name, "reason": why[:300]},
            )  # fmt: skip
            record_failed_attempt(
                unit, actor, connection=conn, environments=flow.environments,
                owner_user_id=flow.owner_user_id, error=why, attempted_by=flow.initiated_by,
            )  # fmt: skip


def _initiator(unit: Unit, flow: PendingFlow) -> Principal:
    """The member who started the consent: the callback acts on their behalf."""
    user = unit.users.by_id(flow.initiated_by)
    membership = unit.memberships.find(flow.workspace_id, user.id)
    if membership is None:
        raise PermissionDenied("complete this consent", None, "the initiator left the workspace")
    ws = membership.workspace
    return user_principal(user.id, user.email, ws.id, ws.kind, membership.role, via="oauth")
