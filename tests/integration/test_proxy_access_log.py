"""The access line of every proxied request: Plugboard's own formatter (no record copies) writes
exactly what uvicorn's uncoloured one writes, query values redacted before either sees them."""

from __future__ import annotations

import logging

import pytest
from uvicorn.logging import AccessFormatter

from plugboard.server.access_log import AccessLineFormatter, RedactQueryValues

UVICORN_ACCESS = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'


def _record(path: str, status: int) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5555", "GET", path, "1.1", status), None,
    )  # fmt: skip


@pytest.mark.parametrize("status", [200, 404, 499, 502])
def test_the_access_line_is_uvicorns(status: int) -> None:
    uvicorn_line = AccessFormatter(UVICORN_ACCESS, use_colors=False).format(
        _record("/proxy/keys/v1/items", status)
    )
    assert AccessLineFormatter().format(_record("/proxy/keys/v1/items", status)) == uvicorn_line


def test_query_values_are_redacted_before_the_line_is_formatted() -> None:
    record = _record("/proxy/keys/v1/items?api_key=s3cret&page=2", 200)
    assert RedactQueryValues().filter(record)
    line = AccessLineFormatter().format(record)
    assert "s3cret" not in line
    assert '"GET /proxy/keys/v1/items?api_key=[redacted]&page=[redacted] HTTP/1.1" 200 OK' in line


def test_other_records_of_the_access_logger_format_as_plain_messages() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, "hello %s", ("x",), None
    )
    assert AccessLineFormatter().format(record) == "hello x"
