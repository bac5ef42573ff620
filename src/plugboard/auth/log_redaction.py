"""Filters that keep credentials out of third-party libraries' log records.

httpx2 logs every request's full URL at INFO (an API key, OAuth 2 token or OAuth 1 signature in
the query would land in the log); oauthlib logs base strings and parameters at DEBUG. Installed
by whatever builds something that sends a credential (the guarded clients, the OAuth 1 signer,
the invoker), never at import time, and only once per logger.
"""

from __future__ import annotations

import logging

import httpx2

__all__ = ["install_secret_log_filters"]

_OAUTHLIB_LOGGERS = ("oauthlib.oauth1.rfc5849", "oauthlib.oauth1.rfc5849.signature")


class QueryRedactingFilter(logging.Filter):
    """Keep httpx2's request URL, drop its query."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 1 and isinstance(args[1], httpx2.URL):
            url = args[1]
            if url.query:
                shown = f"{url.copy_with(query=None)}?[query redacted]"
                record.args = (args[0], shown, *args[2:])
        return True


class DropDebugRecords(logging.Filter):
    """oauthlib's DEBUG records carry base strings and parameters (tokens): drop them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def _install(logger: logging.Logger, kind: type[logging.Filter]) -> None:
    if not any(isinstance(f, kind) for f in logger.filters):
        logger.addFilter(kind())


def install_secret_log_filters() -> None:
    _install(logging.getLogger("httpx2"), QueryRedactingFilter)
    for name in _OAUTHLIB_LOGGERS:
        _install(logging.getLogger(name), DropDebugRecords)
