"""POST /api/v1/invoke and POST /connections/{link}/credentials over real HTTP."""

from __future__ import annotations

import base64
import textwrap

import httpx2
import yaml

from plugboard.testing.provider_state import DEMO_API_KEY
from tests.integration.remote_support import Upstream, key_connection, upstream  # noqa: F401
from tests.stack import Stack
from tests.support import snapshot


def _api_key_connection(stack: Stack) -> str:
    p = stack.provider.base_url
    service = textwrap.dedent(f"""
        name: Key Service
        link_name: keysvc
        base_url: {p}/api/apikey
        auth_type: api_key
        api_key:
          parameters: [{{param_type: header, name: X-Api-Key, display_name: API key}}]
        test_url: {p}/api/apikey/me
    """)
    api = stack.api("dev")
    assert api.post("/services", json=yaml.safe_load(service)).status_code == 201
    assert (
        api.post("/connections", json={"service": "keysvc", "link_name": "keys"}).status_code == 201
    )
    return "keys"


def test_a_credential_entered_over_the_api_is_never_echoed(stack: Stack) -> None:
    link = _api_key_connection(stack)
    entered = stack.api("dev").post(
        f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}}
    )
    assert entered.status_code == 201, entered.text
    assert entered.json()[0]["status"] == "connected"
    assert DEMO_API_KEY not in entered.text


def test_invoke_over_the_api_injects_the_credential(stack: Stack) -> None:
    link = _api_key_connection(stack)
    api = stack.api("dev")
    api.post(f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}})

    result = api.post(
        "/invoke", json={"connection": link, "method": "POST", "url": "/orders", "json": {"n": 1}}
    )

    assert result.status_code == 200, result.text
    body = result.json()
    assert body["status"] == 200
    echoed = yaml.safe_load(body["text"])
    assert (echoed["auth"], echoed["path"], echoed["json"]) == ("apikey", "/orders", {"n": 1})
    assert DEMO_API_KEY not in result.text


def test_invoke_without_an_authorization_is_424_saying_who_must_act(stack: Stack) -> None:
    link = key_connection(stack, authorized=False, level="user")
    refused = stack.api("user").post("/invoke", json={"connection": link, "url": "/x"})
    assert refused.status_code == 424
    problem = refused.json()
    assert problem["type"].endswith("/authorization_required")
    assert "authorize this connection for yourself" in problem["who_must_act"]


def test_invoke_passes_a_binary_body_through(stack: Stack) -> None:
    link = _api_key_connection(stack)
    api = stack.api("dev")
    api.post(f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}})
    raw = base64.b64encode(b"\x00\x01binary").decode()
    result = api.post(
        "/invoke",
        json={
            "connection": link, "method": "PUT", "url": "/blob", "body_base64": raw,
            "headers": {"Content-Type": "application/octet-stream"},
        },
    )  # fmt: skip
    assert result.status_code == 200 and result.json()["status"] == 200, result.text


def test_invoke_refuses_two_bodies(stack: Stack) -> None:
    link = _api_key_connection(stack)
    refused = stack.api("dev").post(
        "/invoke", json={"connection": link, "url": "/x", "json": {}, "text": "a"}
    )
    assert refused.status_code == 422 and refused.json()["field"] == "body"


def test_invoke_never_sends_the_credential_to_another_host(stack: Stack) -> None:
    link = _api_key_connection(stack)
    api = stack.api("dev")
    api.post(f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}})
    hits_before = dict(stack.provider.state.hits)
    # Same listener, another host name: the credential must not go there.
    elsewhere = stack.provider.base_url.replace("127.0.0.1", "localhost") + "/api/apikey/steal"
    refused = api.post("/invoke", json={"connection": link, "url": elsewhere})
    assert refused.status_code == 403, refused.text
    assert "not an origin of service" in refused.json()["detail"]
    assert dict(stack.provider.state.hits) == hits_before


def test_invoke_never_sends_the_credential_to_another_port_of_the_same_host(
    stack: Stack,
    upstream: Upstream,  # noqa: F811
) -> None:
    link = _api_key_connection(stack)
    api = stack.api("dev")
    api.post(f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}})
    # The receiver listens on 127.0.0.1 like the provider, on another port.
    assert upstream.base_url.startswith("http://127.0.0.1:")
    assert upstream.base_url != stack.provider.base_url
    before = snapshot(stack.runtime.database)
    refused = api.post("/invoke", json={"connection": link, "url": f"{upstream.base_url}/steal"})
    assert refused.status_code == 403, refused.text
    assert "not an origin of service" in refused.json()["detail"]
    proxied = httpx2.get(
        f"{stack.base_url}/proxy/{link}/steal",
        headers={
            "Authorization": api.headers["Authorization"],
            "X-Plugboard-Base-Url": upstream.base_url,
        },
        timeout=10,
    )
    assert proxied.status_code == 403, proxied.text
    assert "not an origin of service" in proxied.json()["detail"]
    assert upstream.headers == []  # nothing, and so no credential, reached the other port
    after = snapshot(stack.runtime.database)
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"
    }


def test_the_proxy_never_sends_the_credential_to_another_host(stack: Stack) -> None:
    link = _api_key_connection(stack)
    api = stack.api("dev")
    api.post(f"/connections/{link}/credentials", json={"values": {"X-Api-Key": DEMO_API_KEY}})
    # https on a host the outbound guard allows: only the credential rule stands in the way.
    elsewhere = stack.provider.base_url.replace("http://127.0.0.1", "https://localhost")
    refused = httpx2.get(
        f"{stack.base_url}/proxy/{link}/steal",
        headers={"Authorization": api.headers["Authorization"], "X-Plugboard-Base-Url": elsewhere},
        timeout=10,
    )
    assert refused.status_code == 403, refused.text
    assert "not an origin of service" in refused.json()["detail"]
