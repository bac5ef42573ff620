"""The :class:`ProviderState`: everything one test provider knows, behind one lock."""

from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from plugboard.domain.clock import Clock
from plugboard.testing.provider_state.clock import ProviderClock
from plugboard.testing.provider_state.issued import (
    AccessToken,
    AuthCode,
    ConsentTicket,
    OAuth1Token,
    RefreshToken,
    RequestToken,
    new_token,
)
from plugboard.testing.provider_state.records import (
    DEMO_ACCOUNT,
    DEMO_API_KEY,
    DEMO_AWS_ACCESS_KEY,
    DEMO_AWS_SECRET_KEY,
    DEMO_BASIC_PASSWORD,
    DEMO_BASIC_USER,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_REDIRECT_URI,
    Account,
    ApiKeyParam,
    AwsCredential,
    Call,
    CannedResponse,
    ClientAuth,
    ConsentMode,
    ExpirySignal,
    OAuth1Consumer,
    OAuth2Client,
)

__all__ = ["ProviderState"]


class ProviderState:
    """Registrations, issued credentials, switches and the call log of one test provider.

    Construct with ``demo=False`` to start without the demo registrations. ``clock`` defaults to a
    :class:`ProviderClock` following real time; any object with ``now() -> datetime`` (aware, UTC)
    works, e.g. the ``ManualClock`` Plugboard itself runs on in a test.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        demo: bool = True,
        redirect_uris: Iterable[str] = (DEMO_REDIRECT_URI,),
    ) -> None:
        self.lock = threading.RLock()
        self.clock: Clock = clock if clock is not None else ProviderClock()
        self._demo = demo
        self._demo_redirect_uris = tuple(redirect_uris)
        self._init()
        self._sealed = True

    def __setattr__(self, name: str, value: object) -> None:
        # A misspelled switch (``token_delay`` for ``token_endpoint_delay``) would otherwise be
        # a new attribute nothing reads, and the test or benchmark would silently test nothing.
        if getattr(self, "_sealed", False) and not hasattr(self, name):
            raise AttributeError(
                f"ProviderState has no switch {name!r} (see docs/test-provider.md)"
            )
        super().__setattr__(name, value)

    # --- construction and reset ---------------------------------------------------------------

    def _init(self) -> None:
        # Switches (see docs/test-provider.md for what each one simulates).
        self.consent_mode: ConsentMode = ConsentMode.APPROVE
        self._next_account: Account = DEMO_ACCOUNT
        self.grant_scope: str | None = None
        self.rotate_refresh_tokens: bool = False
        self.omit_refresh_token_in_refresh_response: bool = False
        self.reject_refresh: bool = False
        self.fail_token_endpoint_with: int | None = None
        self.token_endpoint_delay: float = 0.0
        self.token_answer_delay: float = 0.0
        self.refresh_reuse_grace: float = 0.0
        self.refuse_refresh_in_use: bool = False
        self.access_token_ttl: int = 3600
        self.code_ttl: int = 600
        self.expiry_signal: ExpirySignal = ExpirySignal.UNAUTHORIZED
        self.accept_access_token_in_query: bool = False
        self.accept_access_token_in_form: bool = False
        self.oauth1_timestamp_window: int = 300
        self.aws_max_skew: int = 900
        self.aws_region: str | None = None  # when set, the credential scope must name it
        self.aws_service: str | None = None
        self.next_responses: deque[CannedResponse] = deque()
        # The paged records API (provider/records.py).
        self.records_total: int = 5000
        self.records_version: int = 1
        self.fail_records_page: int | None = None
        self.fail_records_status: int = 500
        self.records_delay: float = 0.0  # seconds each page waits (without blocking others)
        # Registrations.
        self.oauth2_clients: dict[str, OAuth2Client] = {}
        self.oauth1_consumers: dict[str, OAuth1Consumer] = {}
        self.api_key_params: list[ApiKeyParam] = []
        self.api_key_owner: str = "api-key-owner"
        self.basic_users: dict[str, str] = {}
        self.aws_credentials: dict[str, AwsCredential] = {}
        # Issued credentials.
        self.codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.refreshes_in_progress: Counter[str] = Counter()  # refresh token -> requests
        self.consent_tickets: dict[str, ConsentTicket] = {}
        self.request_tokens: dict[str, RequestToken] = {}
        self.oauth1_tokens: dict[str, OAuth1Token] = {}
        self.oauth1_nonces: set[tuple[str, str, str, str]] = set()
        # What happened.
        self.calls: list[Call] = []
        self.hits: Counter[str] = Counter()
        if self._demo:
            self.register_oauth2_client(
                DEMO_CLIENT_ID,
                DEMO_CLIENT_SECRET,
                redirect_uris=self._demo_redirect_uris,
            )
            self.register_oauth1_consumer(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)
            self.api_key_params = [ApiKeyParam("header", "X-Api-Key", DEMO_API_KEY)]
            self.basic_users[DEMO_BASIC_USER] = DEMO_BASIC_PASSWORD
            self.add_aws_credential(DEMO_AWS_ACCESS_KEY, DEMO_AWS_SECRET_KEY)

    def reset(self) -> None:
        """Forget every registration, credential, call and switch; back to as constructed."""
        with self.lock:
            self._init()
            reset_clock = getattr(self.clock, "reset", None)
            if callable(reset_clock):
                reset_clock()

    # --- switches with a shape ----------------------------------------------------------------

    @property
    def next_account(self) -> Account:
        """The account every following consent links (until changed)."""
        return self._next_account

    @next_account.setter
    def next_account(self, account: Account | Mapping[str, str]) -> None:
        if not isinstance(account, Account):
            sub = account["sub"]
            account = Account(
                sub=sub,
                name=account.get("name", sub),
                email=account.get("email", f"{sub}@provider.test"),
                preferred_username=account.get("preferred_username", sub),
            )
        self._next_account = account

    def queue_responses(self, *responses: CannedResponse | int) -> None:
        """Append canned answers for the next /api/* requests (an int is a bare status)."""
        with self.lock:
            for response in responses:
                if isinstance(response, int):
                    response = CannedResponse(response)
                self.next_responses.append(response)

    def advance_clock(self, seconds: float) -> None:
        """Move the provider's clock forward (its clock must have ``advance``)."""
        advance = getattr(self.clock, "advance", None)
        if not callable(advance):
            raise TypeError(f"{type(self.clock).__name__} cannot be advanced")
        advance(seconds)

    def now(self) -> datetime:
        return self.clock.now()

    # --- registration -------------------------------------------------------------------------

    def register_oauth2_client(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        redirect_uris: Iterable[str] = (DEMO_REDIRECT_URI,),
        auth_method: ClientAuth | str = ClientAuth.BASIC,
        require_pkce: bool = True,
        allowed_scopes: Iterable[str] | None = None,
    ) -> OAuth2Client:
        """Register (or replace) an OAuth 2 client; id and secret are generated when omitted."""
        client = OAuth2Client(
            client_id=client_id or new_token("client"),
            client_secret=client_secret or secrets.token_urlsafe(24),
            redirect_uris=tuple(redirect_uris),
            auth_method=ClientAuth(auth_method),
            require_pkce=require_pkce,
            allowed_scopes=None if allowed_scopes is None else frozenset(allowed_scopes),
        )
        with self.lock:
            self.oauth2_clients[client.client_id] = client
        return client

    def register_oauth1_consumer(
        self, key: str | None = None, secret: str | None = None
    ) -> OAuth1Consumer:
        consumer = OAuth1Consumer(key or new_token("ck"), secret or secrets.token_urlsafe(24))
        with self.lock:
            self.oauth1_consumers[consumer.key] = consumer
        return consumer

    def add_aws_credential(
        self,
        access_key: str,
        secret_key: str,
        session_token: str | None = None,
        account: str = "123456789012",
    ) -> AwsCredential:
        credential = AwsCredential(access_key, secret_key, session_token, account)
        with self.lock:
            self.aws_credentials[access_key] = credential
        return credential

    # --- issuing (also usable by tests to seed an authorization without a browser) ------------

    def issue_tokens(
        self,
        client_id: str,
        account: Account | None = None,
        scope: str = "",
        *,
        grant_id: str | None = None,
        refresh: bool = True,
    ) -> dict[str, Any]:
        """Issue an access (and refresh) token for ``client_id``; returns the token response."""
        with self.lock:
            if client_id not in self.oauth2_clients:
                raise KeyError(client_id)
            account = account or self._next_account
            grant_id = grant_id or new_token("grant")
            body = self._issue_access(client_id, account, scope, grant_id)
            if refresh:
                refresh_token = RefreshToken(new_token("rt"), client_id, account, scope, grant_id)
                self.refresh_tokens[refresh_token.token] = refresh_token
                body["refresh_token"] = refresh_token.token
            return body

    def issue_oauth1_token(
        self, consumer_key: str, account: Account | None = None
    ) -> tuple[str, str]:
        """Issue OAuth 1 token credentials without the three-legged flow: ``(token, secret)``."""
        with self.lock:
            if consumer_key not in self.oauth1_consumers:
                raise KeyError(consumer_key)
            issued = OAuth1Token(
                new_token("o1t"),
                secrets.token_urlsafe(24),
                consumer_key,
                account or self._next_account,
            )
            self.oauth1_tokens[issued.token] = issued
            return issued.token, issued.secret

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired now, without moving the clock.

        Moving the clock also moves the OAuth 1 and SigV4 timestamp windows away from the wall
        clock clients sign with; this only touches OAuth 2 access tokens.
        """
        with self.lock:
            now = self.now()
            for access in self.access_tokens.values():
                access.expires_at = min(access.expires_at, now)

    def _issue_access(
        self, client_id: str, account: Account, scope: str, grant_id: str
    ) -> dict[str, Any]:
        ttl = self.access_token_ttl
        access = AccessToken(
            new_token("at"),
            client_id,
            account,
            scope,
            self.now() + timedelta(seconds=ttl),
            grant_id,
        )
        self.access_tokens[access.token] = access
        return {
            "access_token": access.token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": scope,
        }

    def rotate(self, old: RefreshToken, scope: str | None = None) -> dict[str, Any]:
        """The refresh_token grant's answer for a valid ``old`` (honours the switches).

        ``scope`` narrows the new access token (RFC 6749 §6); the refresh token keeps its own.
        """
        with self.lock:
            granted = old.scope if scope is None else scope
            body = self._issue_access(old.client_id, old.account, granted, old.grant_id)
            if self.omit_refresh_token_in_refresh_response:
                return body
            if self.rotate_refresh_tokens:
                old.active = False
                old.rotated_at = old.rotated_at or self.now()
                fresh = replace(
                    old, token=new_token("rt"), active=True, rotated_at=None, reused=False
                )
                self.refresh_tokens[fresh.token] = fresh
                body["refresh_token"] = fresh.token
            else:
                body["refresh_token"] = old.token
            return body

    def reusable(self, old: RefreshToken) -> bool:
        """Whether a rotated-away ``old`` is still accepted (once) within the reuse grace."""
        with self.lock:
            return (
                not old.active
                and not old.reused
                and old.rotated_at is not None
                and (self.now() - old.rotated_at).total_seconds() <= self.refresh_reuse_grace
            )

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke every access and refresh token that came from one consent."""
        with self.lock:
            for access in self.access_tokens.values():
                if access.grant_id == grant_id:
                    access.revoked = True
            for refresh in self.refresh_tokens.values():
                if refresh.grant_id == grant_id:
                    refresh.active = False
                    refresh.reused = True  # a revoked token gets no reuse grace

    # --- the call log -------------------------------------------------------------------------

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def calls_to(self, endpoint: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.endpoint == endpoint]

    def token_calls(self, grant_type: str | None = None) -> int:
        """How many requests reached /oauth2/token (of one grant type, when given)."""
        with self.lock:
            return sum(
                1
                for call in self.calls
                if call.endpoint == "oauth2.token"
                and (grant_type is None or call.grant_type == grant_type)
            )

    def pop_canned(self) -> CannedResponse | None:
        with self.lock:
            return self.next_responses.popleft() if self.next_responses else None

    def hit(self, path: str) -> None:
        with self.lock:
            self.hits[path] += 1
