"""Fixtures for the apps tests: an app builder's world in `acme` (developer) and the client
workspace `globex`, with services that point at nothing (no test here sends a request)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plugboard.domain.principal import Principal
from plugboard.usecases.app_service import Apps
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.services import create_custom_service
from tests.stack import Actor

BOOKS = """
name: Books
link_name: books
base_url: https://books.propertysales-test.net/api
auth_type: oauth2
oauth2:
  client_id: books-client
  client_secret: books-client-secret
  authorize_url: https://books.propertysales-test.net/oauth/authorize
  token_url: https://books.propertysales-test.net/oauth/token
  scopes:
    - {name: invoices.read, description: Read invoices}
    - {name: invoices.write, description: Write invoices}
"""

SHEETS = """
name: Sheets
link_name: sheets
base_url: https://sheets.propertysales-test.net/api
auth_type: api_key
allow_user_level: true
api_key:
  parameters:
    - {param_type: header, name: X-Api-Key, display_name: API key}
"""


@pytest.fixture
def builder(runtime: Runtime, members: Actor) -> Principal:
    """`dev@acme.test` with the services Books and Sheets."""
    dev = members("dev")
    with runtime.unit() as unit:
        create_custom_service(unit, dev, BOOKS)
        create_custom_service(unit, dev, SHEETS)
    return dev


AppsOf = Callable[[Principal], Apps]
ConnectionsOf = Callable[[Principal], Connections]


@pytest.fixture
def apps_of(runtime: Runtime) -> AppsOf:
    return lambda actor: Apps(runtime, actor)


@pytest.fixture
def connections_of(runtime: Runtime) -> ConnectionsOf:
    return lambda actor: Connections(runtime, actor)
