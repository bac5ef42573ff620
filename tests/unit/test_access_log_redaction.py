"""The access log keeps paths and parameter names, never a query value."""

from __future__ import annotations

import logging

import pytest

from plugboard.server.access_log import RedactQueryValues, redact_query


@pytest.mark.parametrize(
    ("logged", "kept"),
    [
        ("/health", "/health"),
        ("/oauth/callback?code=abc&state=xyz", "/oauth/callback?code=[redacted]&state=[redacted]"),
        ("/proxy/crm/v1?api_key=k&&flag", "/proxy/crm/v1?api_key=[redacted]&flag=[redacted]"),
        ("/x?", "/x?"),
        ("/x?a=1=2", "/x?a=[redacted]"),
    ],
)
def test_query_values_are_redacted_and_names_kept(logged: str, kept: str) -> None:
    assert redact_query(logged) == kept


def test_the_filter_rewrites_the_path_argument_of_an_access_record() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/oauth/callback?code=s3cret", "1.1", 200),
        None,
    )
    assert RedactQueryValues().filter(record)
    assert "s3cret" not in record.getMessage()
    assert "/oauth/callback?code=[redacted]" in record.getMessage()
