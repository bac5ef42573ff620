"""Both clients are the same API: every member of the client protocol exists on the embedded
and on the remote client with the same signature, and neither has public extras beyond the few
named here (with why)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from plugboard.client import local, protocol, remote, remote_apis
from plugboard.usecases.app_service import Apps
from plugboard.usecases.authorization_service import Authorizations
from plugboard.usecases.connection_service import Connections
from plugboard.usecases.notifications import Notifications
from plugboard.usecases.runtime import Runtime
from plugboard.usecases.service_catalog import Services

SPECS: dict[str, type[Any]] = {
    "client": protocol.PlugboardClient,
    "connections": protocol.ConnectionsAPI,
    "authorizations": protocol.AuthorizationsAPI,
    "services": protocol.ServicesAPI,
    "apps": protocol.AppsAPI,
    "datasources": protocol.DatasourcesAPI,
    "notifications": protocol.NotificationsAPI,
}

# Public members outside the protocol, and why they exist on one side only.
EXTRAS: dict[type[Any], set[str]] = {
    # The embedded client's store, engine and identity, which a remote token decides instead.
    local.LocalClient: {"runtime", "principal", "workspace", "invoker"},
    # A raw REST call for endpoints the SDK does not wrap yet.
    remote.RemoteClient: {"request", "base_url"},
    # One page for the REST API's cursor; app code lists them all.
    Connections: {"page", "references_page", "own_authorizations"},  # the last: console slots
    Authorizations: {"page"},
    Services: {"page"},
    Apps: {"users_page", "versions_page"},
    Notifications: {"unread_count"},  # the console's badge (the list's page carries it too)
    # The server receives the provider's callback; locally `plugboard authorize` runs a
    # listener of its own (cli/consenting.py).
    remote_apis.RemoteAuthorizations: {"start_consent", "consent_status"},
}


@pytest.fixture
def clients(runtime: Runtime) -> Iterator[dict[str, tuple[Any, Any]]]:
    embedded = local.LocalClient(runtime)
    served = remote.RemoteClient("http://127.0.0.1:9", "pbt_unused")
    try:
        yield {
            "client": (embedded, served),
            **{
                name: (getattr(embedded, name), getattr(served, name))
                for name in (
                    "connections",
                    "authorizations",
                    "services",
                    "apps",
                    "datasources",
                    "notifications",
                )
            },
        }
    finally:
        served.close()


def _public(thing: Any) -> set[str]:
    return {name for name in dir(thing) if not name.startswith("_")}


def _signature(member: Any) -> str:
    """Annotations resolved, so an alias and its record compare equal."""
    if isinstance(member, property):
        assert member.fget is not None
        return f"property -> {inspect.signature(member.fget, eval_str=True).return_annotation}"
    if not callable(member):
        return f"attribute {type(member).__name__}"
    return str(inspect.signature(member, eval_str=True))


@pytest.mark.parametrize("part", list(SPECS))
def test_every_protocol_member_has_the_same_signature_in_both_clients(
    clients: dict[str, tuple[Any, Any]], part: str
) -> None:
    spec = SPECS[part]
    members = _public(spec) - _public(object)
    assert members, f"{spec.__name__} declares nothing"
    for name in sorted(members):
        wanted = inspect.getattr_static(spec, name)
        for client in clients[part]:
            assert hasattr(client, name), f"{type(client).__name__} lacks {name}"
            if isinstance(wanted, property) and part == "client":
                continue  # a sub-API: its own members are compared as their own part
            got = getattr(type(client), name, None) or getattr(client, name)
            assert _signature(got) == _signature(wanted), (type(client).__name__, name)


@pytest.mark.parametrize("part", list(SPECS))
def test_no_client_has_public_members_outside_the_protocol_but_the_named_ones(
    clients: dict[str, tuple[Any, Any]], part: str
) -> None:
    allowed = _public(SPECS[part]) | _public(object) | _public(protocol.ClientLifecycle)
    for client in clients[part]:
        extra = _public(client) - allowed
        assert extra == EXTRAS.get(type(client), set()), type(client).__name__
