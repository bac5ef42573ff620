"""The server's cache of checked API tokens (server/principal_cache.py): a token not in it is
read from the store once, however many of its requests arrive while it is read."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event

from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR
from plugboard.errors import AuthenticationFailed
from plugboard.server.principal_cache import PrincipalCache, authenticate_request
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime

CALLERS = 20


@pytest.fixture
def secret(runtime: Runtime) -> str:
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "acme", WorkspaceKind.DEVELOPER)
        identity.add_user(unit, OPERATOR, email="dev@acme.test", role=Role.DEVELOPER,
                          workspace="acme")  # fmt: skip
        return identity.create_token(
            unit, OPERATOR, email="dev@acme.test", workspace="acme", name="t"
        ).secret


def _token_reads(runtime: Runtime) -> list[str]:
    """Every statement that reads the API tokens table, as the database is asked it."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM api_tokens" in statement:
            seen.append(statement)

    event.listen(runtime.database.engine, "before_cursor_execute", before)
    return seen


async def _authenticate(runtime: Runtime, cache: PrincipalCache, secret: str) -> Any:
    return await authenticate_request(
        runtime, cache, authorization=f"Bearer {secret}", session_cookie=None,
        csrf_token=None, method="GET",
    )  # fmt: skip


@pytest.mark.anyio
async def test_concurrent_requests_of_an_uncached_token_read_it_once(
    runtime: Runtime, secret: str
) -> None:
    cache = PrincipalCache(ttl=60)
    reads = _token_reads(runtime)
    principals = await asyncio.gather(
        *(_authenticate(runtime, cache, secret) for _ in range(CALLERS))
    )
    assert {p.email for p in principals} == {"dev@acme.test"}
    assert len(reads) == 1
    await _authenticate(runtime, cache, secret)  # cached now
    assert len(reads) == 1


@pytest.mark.anyio
async def test_concurrent_requests_of_a_bad_token_are_all_refused_and_nothing_is_cached(
    runtime: Runtime, secret: str
) -> None:
    cache = PrincipalCache(ttl=60)
    reads = _token_reads(runtime)
    outcomes = await asyncio.gather(
        *(_authenticate(runtime, cache, secret + "x") for _ in range(CALLERS)),
        return_exceptions=True,
    )
    assert all(isinstance(o, AuthenticationFailed) for o in outcomes)
    assert len(reads) == 1
    with pytest.raises(AuthenticationFailed):  # a refusal is not remembered: checked again
        await _authenticate(runtime, cache, secret + "x")
    assert len(reads) == 2
