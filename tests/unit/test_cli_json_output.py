"""`--json` prints plain indented JSON, as Rich printed it before, without Rich's renderer."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from rich.console import Console

from plugboard.cli.output import print_json


def test_json_output_is_what_rich_printed_for_the_same_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    value = [{"name": "Café ✓", "n": 1, "none": None, "at": datetime(2026, 1, 2, tzinfo=UTC)}]

    print_json(value)

    rich = io.StringIO()
    Console(file=rich, highlight=False, soft_wrap=True).print_json(
        json.dumps([{**value[0], "at": "2026-01-02T00:00:00+00:00"}])
    )
    assert capsys.readouterr().out == rich.getvalue()
