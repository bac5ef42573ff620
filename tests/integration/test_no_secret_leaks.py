"""No secret in any log record or exception text: logging captured at DEBUG across invokes of
every auth type, a refresh, a rejected refresh, a failing token endpoint and a transport error,
then every record, every exception (with its chain and traceback) and the audit log scanned for
the stored secrets and every token the provider issued."""

# ruff: noqa: F811 -- the fixtures imported from invoke_support are pytest parameters here
from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime
from typing import Any

import pytest

from plugboard.domain.credentials import (
    ApiKeyCredential,
    AwsCredential,
    BasicCredential,
    OAuth1Credential,
)
from tests.integration.invoke_support import (  # noqa: F401
    World,
    provider,
    running_provider,
    world,
)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(record.args))
        self.texts.append(repr(record.__dict__))


def _exception_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


def test_no_secret_reaches_a_log_record_an_exception_or_the_audit_log(world: World) -> None:
    state = world.state
    kinds = {
        "apikey": ApiKeyCredential({"X-Api-Key": state.api_key, "account": state.api_account}),
        "basic": BasicCredential(state.basic_user, state.basic_password),
        "oauth1": OAuth1Credential(state.oauth1_token, state.oauth1_token_secret),
        "sigv4": AwsCredential(state.aws_access_key, state.aws_secret_key),
    }
    links = {}
    for kind, credential in kinds.items():
        service = world.service(kind)
        params = {"tenant": "acme"} | ({"region": state.aws_region} if kind == "sigv4" else {})
        links[kind] = world.connection(service, link=f"leak_{kind}", params=params)
        world.store(links[kind], credential)
    oauth2 = world.service("oauth2")
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    for name in ("leak_refresh", "leak_rejected", "leak_down"):
        world.connection(oauth2, link=name)
        world.store(name, world.oauth2_credential(), expires_at=long_ago)

    handler = _Collect()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    errors: list[BaseException] = []
    responses: list[Any] = []
    try:
        pb = world.client()
        for link in links.values():
            responses.append(pb.invoke_url("/items?page=2", connection=link))
            responses.append(pb.invoke_url("/form", "POST", connection=link, json={"a": 1}))
        responses.append(pb.invoke_url("/me", connection="leak_refresh"))
        state.token_mode = "invalid_grant"
        with pytest.raises(Exception) as rejected:
            pb.invoke_url("/me", connection="leak_rejected")
        errors.append(rejected.value)
        state.token_mode = "unavailable"
        with pytest.raises(Exception) as down:
            pb.invoke_url("/me", connection="leak_down")
        errors.append(down.value)
        with pytest.raises(Exception) as unreachable:
            pb.invoke_url("https://down.pbtest-provider.net:9/x", connection=links["apikey"])
        errors.append(unreachable.value)
        with pytest.raises(Exception) as missing:
            pb.invoke_url("/x", connection="no_such_connection")
        errors.append(missing.value)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)

    assert [r.status for r in responses] == [200] * (len(responses))
    assert state.token_calls == 3  # the refresh, the rejected one, the failing one
    texts = handler.texts + [_exception_text(e) for e in errors]
    texts += [repr(e) for e in world.audit()] + [
        repr(e) for e in world.audit("authorization.expire")
    ]
    texts += [repr(r) for r in responses]
    assert len(handler.texts) > 20  # the capture really saw the traffic
    secrets = state.secrets()
    assert len(secrets) >= 10
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"a secret leaked into: {text[:200]}"
