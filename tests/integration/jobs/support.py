"""Shared pieces of the background-work tests: OAuth 2 connections on the test provider
(plugboard.testing) authorized without a browser, a local SMTP server, and reading the store."""

from __future__ import annotations

import email
import email.policy
import socket
import textwrap
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from plugboard.domain.credentials import OAuth2Credential, credential_from_data
from plugboard.domain.models import ConnectionLevel
from plugboard.domain.principal import OPERATOR
from plugboard.testing.server import ProviderServer
from plugboard.usecases.connections import create_connection
from plugboard.usecases.credentials import store_credential
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service


@dataclass
class Inbox:
    """What the local SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [
                m
                for m, (_, rcpt) in zip(self.messages, self.envelopes, strict=True)
                if address in rcpt
            ]


class SmtpServer:
    """aiosmtpd on 127.0.0.1, on a free port."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        with socket.socket() as probe:  # aiosmtpd checks its port by connecting: pick one
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    @property
    def url(self) -> str:
        return f"smtp+plain://127.0.0.1:{self.port}"


def oauth2_service_yaml(
    provider: ProviderServer, base_url: str, link: str = "tp"
) -> tuple[str, str]:
    """A custom OAuth 2 service on the provider, and the client id registered for it."""
    client = provider.state.register_oauth2_client(redirect_uris=[f"{base_url}/oauth/callback"])
    p = provider.base_url
    return textwrap.dedent(f"""
        name: Test Provider
        link_name: {link}
        base_url: {p}
        auth_type: oauth2
        allow_user_level: true
        oauth2:
          client_id: {client.client_id}
          client_secret: {client.client_secret}
          authorize_url: {p}/oauth2/authorize
          token_url: {p}/oauth2/token
          revoke_url: {p}/oauth2/revoke
          token_endpoint_auth_method: client_secret_basic
          scopes:
            - {{name: read, description: Read things}}
            - {{name: write, description: Write things}}
    """), client.client_id


@dataclass
class OAuthWorld:
    runtime: Runtime
    provider: ProviderServer
    workspace: str = "acme"
    client_id: str = ""

    def service(self, link: str = "tp") -> str:
        text, self.client_id = oauth2_service_yaml(
            self.provider, self.runtime.settings.base_url, link
        )
        with self.runtime.unit() as unit:
            create_custom_service(
                unit, OPERATOR, text, workspace=self.workspace, http_hosts=["127.0.0.1"]
            )
        return link

    def connection(
        self, link: str, service: str = "tp", level: ConnectionLevel = ConnectionLevel.ADMIN
    ) -> str:
        with self.runtime.unit() as unit:
            create_connection(
                unit, OPERATOR, service=service, link_name=link, level=level, scopes=["read"],
                workspace=self.workspace,
            )  # fmt: skip
        return link

    def authorize(
        self, link: str, *, owner: str | None = None, expires_in: float | None = 3600
    ) -> str:
        """Authorize through tokens the provider issued (as a consent would); returns the
        refresh token."""
        answer = self.provider.state.issue_tokens(self.client_id, scope="read")
        expires = (
            None if expires_in is None else self.runtime.clock.now() + timedelta(seconds=expires_in)
        )
        with self.runtime.unit() as unit:
            store_credential(
                unit, OPERATOR, connection=link, workspace=self.workspace, owner=owner,
                credential=OAuth2Credential(answer["access_token"], answer["refresh_token"]),
                expires_at=expires,
            )  # fmt: skip
        return str(answer["refresh_token"])

    def stored(self, link: str, owner_email: str | None = None) -> tuple[OAuth2Credential, Any]:
        """The stored credential and the authorization's summary."""
        with self.runtime.unit(write=False) as unit:
            ws = unit.workspaces.get(self.workspace)
            conn = unit.connections.get(ws.id, link)
            owner = unit.users.get(owner_email).id if owner_email else None
            found = unit.accounts.authorized_account(conn.id, "all", owner)
        assert found is not None
        credential = (
            credential_from_data(found.account.credential) if found.account is not None else None
        )
        assert credential is None or isinstance(credential, OAuth2Credential)
        return credential, found  # type: ignore[return-value]

    def events(self, type_: str | None = None) -> list[Any]:
        with self.runtime.unit(write=False) as unit:
            return list(reversed(unit.events.list(type=type_)))
