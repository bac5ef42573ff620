"""API tokens: `pbt_` + 40 url-safe random characters; stored as SHA-256, shown once.

A plain hash (not a slow KDF) is right here because the token has 240 bits of entropy: nothing
can be guessed, and lookup by hash stays a single indexed query on every request.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "pbt_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(30)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    """Enough to recognise a token in a list, too little to use it."""
    return token[: len(TOKEN_PREFIX) + 6]
