"""Notification e-mail (SPEC §5): plain text and HTML, sent with aiosmtplib when
``PLUGBOARD_SMTP_URL`` is set.

:func:`send_due_emails` claims due notifications for a lease (store/notifications.py), sends each
and marks it sent in its own short transaction. Delivery is at least once: a sender that dies
after sending and before marking leaves the claim to lapse and the message to be sent again. A
failed send is retried with a growing pause and given up after :data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from plugboard.errors import ValidationError
from plugboard.store.notifications import StoredNotification
from plugboard.usecases.runtime import Runtime

__all__ = ["SmtpTarget", "compose", "parse_smtp_url", "send_due_emails"]

log = logging.getLogger("plugboard.jobs.mail")

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool  # TLS from the first byte (smtps)
    starttls: bool | None  # None: when the server offers it; False: never
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://`` (STARTTLS when offered, port 25), ``smtps://`` (port 465), ``smtp+plain://``
    (never TLS); user and password (percent-encoded) before the host."""
    parts = urlsplit(url)
    modes = {
        "smtp": (False, None, 25),
        "smtps": (True, False, 465),
        "smtp+plain": (False, False, 25),
    }
    if parts.scheme not in modes or not parts.hostname:
        raise ValidationError("smtp_url", "must be smtp://, smtps:// or smtp+plain://host[:port]")
    tls, starttls, default_port = modes[parts.scheme]
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or default_port,
        tls=tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def compose(
    notification: StoredNotification, to_email: str, to_name: str, sender: str
) -> EmailMessage:
    """The message: the title as subject, the text and the link, as plain text and HTML."""
    message = EmailMessage()
    message["Subject"] = notification.title
    message["From"] = sender
    message["To"] = formataddr((to_name, to_email))
    message["Message-ID"] = make_msgid(idstring=notification.id, domain="plugboard")
    text = (
        f"{notification.title}\n\n{notification.body}\n\n"
        f"Authorize it again: {notification.link}\n\n"
        "-- Plugboard. You can mute notifications about this connection in the console."
    )
    message.set_content(text)
    link = html.escape(notification.link, quote=True)
    message.add_alternative(
        "<!doctype html><html><body>"
        f'<h1 style="font-size:1.2em">{html.escape(notification.title)}</h1>'
        f"<p>{html.escape(notification.body)}</p>"
        f'<p><a href="{link}">Authorize it again</a></p>'
        '<p style="color:#666">Plugboard. You can mute notifications about this connection in '
        "the console.</p></body></html>",
        subtype="html",
    )
    return message


async def _send(target: SmtpTarget, message: EmailMessage) -> None:
    await aiosmtplib.send(
        message,
        hostname=target.host,
        port=target.port,
        use_tls=target.tls,
        start_tls=target.starttls,
        username=target.username,
        password=target.password,
        timeout=_TIMEOUT,
    )


def send_due_emails(runtime: Runtime, *, limit: int = 20) -> int:
    """Send the due notification e-mail (none without ``smtp_url``); returns how many went."""
    settings = runtime.settings
    if settings.smtp_url is None:
        return 0
    target = parse_smtp_url(settings.smtp_url.get_secret_value())
    with runtime.unit() as unit:
        claimed = unit.notifications.claim_email(unit.now(), LEASE, limit=limit)
    sent = 0
    for notification, to_email, to_name in claimed:
        message = compose(notification, to_email, to_name, settings.smtp_from)
        try:
            asyncio.run(_send(target, message))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            with runtime.unit() as unit:
                attempts = notification.email_attempts + 1
                retry_at = (
                    unit.now() + timedelta(seconds=min(3600, 30 * 2 ** (attempts - 1)))
                    if attempts < MAX_ATTEMPTS
                    else None
                )
                unit.notifications.mark_email_failed(notification.id, error, retry_at=retry_at)
            log.warning("notification e-mail %s not sent: %s", notification.id, error)
            continue
        with runtime.unit() as unit:
            unit.notifications.mark_emailed(notification.id, unit.now())
        sent += 1
    return sent
