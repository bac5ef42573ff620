"""Credential injection for outbound requests: one ``httpx2.Auth`` per auth type (SPEC §2, §7).

Every class here works with any httpx2 client, sync or async, and never shows a secret in its
repr or in an error. ``outbound`` holds the address guard every invoke goes through.
"""

from __future__ import annotations

from plugboard.auth.apikey import ApiKeyAuth, ApiKeyParameter, Placement
from plugboard.auth.basic import BasicAuth
from plugboard.auth.bearer import BearerAuth
from plugboard.auth.oauth1 import OAuth1Auth
from plugboard.auth.outbound import GuardedTransport, OutboundPolicy
from plugboard.auth.sigv4 import SigV4Auth

__all__ = [
    "ApiKeyAuth",
    "ApiKeyParameter",
    "BasicAuth",
    "BearerAuth",
    "GuardedTransport",
    "OAuth1Auth",
    "OutboundPolicy",
    "Placement",
    "SigV4Auth",
]
