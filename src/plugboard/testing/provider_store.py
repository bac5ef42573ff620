"""The demo provider's issued tokens, kept in a file so a restarted ``serve --demo`` still
accepts them.

Without it every restart of ``make run`` forgot the tokens the demo provider had issued, so the
connection authorized in the walkthrough answered ``invalid_grant`` until authorized again.
Only what outlives a consent is kept (OAuth 2 access and refresh tokens, OAuth 1 token
credentials); codes, consent tickets and the call log are short-lived and stay in memory. The
file is written after each POST to the provider's ``/oauth2/*``/``/oauth1/*`` endpoints (where
tokens are issued, rotated and revoked), atomically and readable by its owner only: the tokens
are demo tokens, but tokens all the same.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plugboard.testing.provider_state import (
    AccessToken,
    Account,
    OAuth1Token,
    ProviderState,
    RefreshToken,
)

__all__ = ["DEMO_STATE_FILE", "ProviderStateFile", "persisting"]

DEMO_STATE_FILE = "demo-provider.json"
_VERSION = 1
log = logging.getLogger(__name__)


class ProviderStateFile:
    """Saves and restores the tokens a :class:`ProviderState` issued."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, state: ProviderState) -> None:
        with state.lock:
            document = {
                "version": _VERSION,
                "access_tokens": [_plain(asdict(t)) for t in state.access_tokens.values()],
                "refresh_tokens": [asdict(t) for t in state.refresh_tokens.values()],
                "oauth1_tokens": [asdict(t) for t in state.oauth1_tokens.values()],
            }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".demo-provider.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(document, out)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def load(self, state: ProviderState) -> int:
        """Restore the saved tokens of clients ``state`` knows; returns how many. A missing file
        restores nothing; an unreadable one is reported and ignored (the demo starts over)."""
        if not self.path.exists():
            return 0
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            if document.get("version") != _VERSION:
                raise ValueError(f"version {document.get('version')!r}")
            access = [_access(d) for d in document["access_tokens"]]
            refresh = [_refresh(d) for d in document["refresh_tokens"]]
            oauth1 = [_oauth1(d) for d in document["oauth1_tokens"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the demo provider's saved tokens in %s: %s", self.path, exc)
            return 0
        with state.lock:
            clients, consumers = state.oauth2_clients, state.oauth1_consumers
            state.access_tokens.update({t.token: t for t in access if t.client_id in clients})
            state.refresh_tokens.update({t.token: t for t in refresh if t.client_id in clients})
            state.oauth1_tokens.update({t.token: t for t in oauth1 if t.consumer_key in consumers})
            return len(state.access_tokens) + len(state.refresh_tokens) + len(state.oauth1_tokens)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def _account(data: dict[str, Any]) -> Account:
    return Account(**data)


def _access(d: dict[str, Any]) -> AccessToken:
    return AccessToken(
        d["token"], d["client_id"], _account(d["account"]), d["scope"],
        datetime.fromisoformat(d["expires_at"]), d["grant_id"], bool(d["revoked"]),
    )  # fmt: skip


def _refresh(d: dict[str, Any]) -> RefreshToken:
    return RefreshToken(
        d["token"], d["client_id"], _account(d["account"]), d["scope"], d["grant_id"],
        bool(d["active"]),
    )  # fmt: skip


def _oauth1(d: dict[str, Any]) -> OAuth1Token:
    return OAuth1Token(
        d["token"], d["secret"], d["consumer_key"], _account(d["account"]), bool(d["revoked"])
    )


def persisting(app: ASGIApp, state: ProviderState, file: ProviderStateFile) -> ASGIApp:
    """``app`` (the provider) saving ``state``'s tokens after each request that may change
    them, once its response is complete."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        local = path[len(root) :] if root and path.startswith(root) else path
        changes = (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and local.startswith(("/oauth2/", "/oauth1/", "/consent"))
        )
        if not changes:
            await app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            # Saved before the last body part goes out: a client that got its token can rely
            # on a restart keeping it.
            if message["type"] == "http.response.body" and not message.get("more_body"):
                file.save(state)
            await send(message)

        await app(scope, receive, sending)

    return wrapped
