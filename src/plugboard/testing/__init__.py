"""Test support: a realistic third-party provider to run Plugboard against over real HTTP.

See docs/test-provider.md. Nothing here is imported by Plugboard itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plugboard.testing.provider import REALM, create_provider_app
from plugboard.testing.provider_state import (
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
    ProviderClock,
    ProviderState,
)

if TYPE_CHECKING:
    from plugboard.testing.server import ProviderServer, run_provider

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
    "REALM",
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
    "ProviderServer",
    "ProviderState",
    "create_provider_app",
    "run_provider",
]


def __getattr__(name: str) -> Any:
    # Imported on first use so `python -m plugboard.testing.server` does not find the module
    # already imported by its own package (runpy warns about that).
    if name in ("ProviderServer", "run_provider"):
        from plugboard.testing import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
