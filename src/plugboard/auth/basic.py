"""HTTP Basic injection (SPEC §2 "Basic"): ``Authorization: Basic base64(user:pass)``.

httpx2.BasicAuth already builds the header correctly (UTF-8 user and password joined by ``:``);
this subclass only adds a repr that never shows the password and a typed home in our package.
"""

from __future__ import annotations

import httpx2

from plugboard.errors import ValidationError

__all__ = ["BasicAuth"]


class BasicAuth(httpx2.BasicAuth):
    """``Authorization: Basic base64(username:password)`` on every request."""

    def __init__(self, username: str, password: str) -> None:
        if ":" in username:
            # RFC 7617 §2: the user-id cannot contain a colon; the server would split there.
            raise ValidationError("username", "no_colon", "username: must not contain ':'")
        super().__init__(username, password)
        self._username = username

    def __repr__(self) -> str:
        return f"BasicAuth(username={self._username!r}, password=<redacted>)"
