"""The test provider: a small third-party service Plugboard's tests talk to over real HTTP.

It plays the *far side* of every auth type and checks credentials the way real services do:

- an OAuth 2 authorization server (RFC 6749 code grant with RFC 7636 PKCE S256, refresh with
  optional rotation, RFC 7009 revocation, a userinfo endpoint, RFC 8414 metadata) and a
  protected API that accepts Bearer tokens (RFC 6750) and signals expiry in three styles;
- an OAuth 1.0a provider (RFC 5849 three-legged flow, HMAC-SHA1 verified server-side from the
  request as received, timestamp window and nonce replay check);
- API key, HTTP Basic and AWS Signature V4 protected APIs (SigV4 recomputed from the received
  request with :mod:`plugboard.auth.sigv4`'s pure functions).

Everything it knows and every switch lives in a :class:`ProviderState`; every request is
recorded there as a :class:`Call` (names and outcomes, never credential values).

Independence matters more than reuse here: PKCE and the OAuth 1 signature are recomputed with
hashlib/hmac and oauthlib's server-side pieces rather than with Plugboard's client code, so a
client bug cannot be cancelled out by the same bug on this side. SigV4 reuses the pure functions
(they are pinned by the AWS test suite) but parses everything it feeds them from the wire.

One module per job: :mod:`.common` (constants, the refusal, small HTTP helpers), :mod:`.pages`,
:mod:`.api` (what every protected API shares), :mod:`.oauth2_authorize`, :mod:`.consent`,
:mod:`.oauth2_token`, :mod:`.oauth2_resource`, :mod:`.oauth1`, :mod:`.apikey`, :mod:`.basic`,
:mod:`.sigv4`, and :mod:`.app`, which routes them.
"""

from __future__ import annotations

from plugboard.testing.provider.app import create_provider_app
from plugboard.testing.provider.common import REALM

__all__ = ["REALM", "create_provider_app"]
