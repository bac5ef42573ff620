"""What the test provider knows and how it is told to misbehave.

A :class:`ProviderState` is shared between the provider app (running in a uvicorn thread) and the
test that inspects it. Registrations, issued credentials and the call log live behind one lock;
the switches are plain attributes a test sets between requests (single attribute writes are
atomic, and each request reads a switch once).

:meth:`ProviderState.reset` puts everything back as constructed, so one server can be shared by a
whole session and reset between tests.

The names are defined in :mod:`.records` (what tests build and read back), :mod:`.issued`
(codes, tokens and tickets the provider hands out), :mod:`.clock` and :mod:`.state`.
"""

from __future__ import annotations

from plugboard.testing.provider_state.clock import ProviderClock

# Not in __all__ (the provider's own records), but imported from here by the provider and its
# store: the ``as`` spelling marks them re-exported.
from plugboard.testing.provider_state.issued import AccessToken as AccessToken
from plugboard.testing.provider_state.issued import AuthCode as AuthCode
from plugboard.testing.provider_state.issued import ConsentTicket as ConsentTicket
from plugboard.testing.provider_state.issued import OAuth1Token as OAuth1Token
from plugboard.testing.provider_state.issued import RefreshToken as RefreshToken
from plugboard.testing.provider_state.issued import RequestToken as RequestToken
from plugboard.testing.provider_state.issued import new_token as new_token
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
from plugboard.testing.provider_state.state import ProviderState

__all__ = [
    "DEMO_ACCOUNT",
    "DEMO_API_KEY",
    "DEMO_AWS_ACCESS_KEY",
    "DEMO_AWS_SECRET_KEY",
    "DEMO_BASIC_PASSWORD",
    "DEMO_BASIC_USER",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_CONSUMER_KEY",
    "DEMO_CONSUMER_SECRET",
    "DEMO_REDIRECT_URI",
    "Account",
    "ApiKeyParam",
    "AwsCredential",
    "Call",
    "CannedResponse",
    "ClientAuth",
    "ConsentMode",
    "ExpirySignal",
    "OAuth1Consumer",
    "OAuth2Client",
    "ProviderClock",
    "ProviderState",
]
