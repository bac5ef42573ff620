"""The access log without secrets: query values never reach it.

OAuth callbacks carry authorization codes and states in their query, and a caller's proxy
request may carry anything; the access log keeps the path and the parameter names, which is
what an operator reads it for, and writes ``[redacted]`` for every value.
"""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus
from typing import Any

__all__ = [
    "REDACTED",
    "AccessLineFormatter",
    "RedactQueryValues",
    "access_log_config",
    "redact_query",
]

REDACTED = "[redacted]"


def redact_query(path_with_query: str) -> str:
    """``/cb?code=abc&state=xyz`` → ``/cb?code=[redacted]&state=[redacted]``."""
    path, sep, query = path_with_query.partition("?")
    if not sep:
        return path
    names = [part.partition("=")[0] for part in query.split("&") if part]
    return path + "?" + "&".join(f"{name}={REDACTED}" for name in names)


class RedactQueryValues(logging.Filter):
    """For uvicorn's access logger, whose records carry (client, method, path?query, version,
    status) as arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            if "?" in args[2]:
                record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


_PHRASES = {status.value: status.phrase for status in HTTPStatus}


class AccessLineFormatter(logging.Formatter):
    """uvicorn's access line without colours (``INFO:     client - "GET /p HTTP/1.1" 200 OK``),
    formatted straight from the record: uvicorn's formatter copies every record twice, a third
    of the cost of a proxied request's log line. Other records format as uvicorn's default."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if not (isinstance(args, tuple) and len(args) == 5):
            return super().format(record)
        client, method, path, version, status = args
        prefix = record.levelname + ":" + " " * (8 - len(record.levelname))
        phrase = _PHRASES.get(int(status), "")  # type: ignore[call-overload]
        return f'{prefix} {client} - "{method} {path} HTTP/{version}" {status} {phrase}'


def access_log_config(level: str) -> dict[str, Any]:
    """uvicorn's own logging set-up, with the redacting filter on the access handler (a
    handler filter, so no record reaches the stream unredacted whoever logs it)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {
        **LOGGING_CONFIG,
        "filters": {"redact_query_values": {"()": f"{__name__}.RedactQueryValues"}},
        "handlers": {name: dict(handler) for name, handler in LOGGING_CONFIG["handlers"].items()},
        "loggers": {name: dict(logger) for name, logger in LOGGING_CONFIG["loggers"].items()},
    }
    config["handlers"]["access"]["filters"] = ["redact_query_values"]
    if not sys.stdout.isatty():  # a terminal keeps uvicorn's colours
        config["formatters"] = {
            **config["formatters"],
            "access": {"()": f"{__name__}.AccessLineFormatter"},
        }
    # Plugboard's own loggers (proxy disconnects, slow clients) print beside uvicorn's.
    config["loggers"]["plugboard"] = {"handlers": ["default"], "level": level.upper()}
    return config
