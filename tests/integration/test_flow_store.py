from __future__ import annotations

import threading

from plugboard.domain.oauth import expiry, new_state, state_hash
from plugboard.usecases.connections import create_connection
from plugboard.usecases.runtime import Runtime
from tests.stack import Actor
from tests.support import snapshot


def _start(runtime: Runtime, members: Actor) -> tuple[str, str]:
    dev = members("dev")
    state = new_state()
    with runtime.unit() as unit:
        connection = create_connection(unit, dev, service="github", scopes=["repo"])
        flow = unit.flows.add(
            workspace_id=connection.workspace_id,
            connection_id=connection.id,
            initiated_by=dev.user_id or "",
            owner_user_id=None,
            environments=["all"],
            redirect_uri="http://127.0.0.1:8000/oauth/callback",
            state_hash=state_hash(state),
            secrets={"code_verifier": "verifier-that-must-stay-secret"},
            now=unit.now(),
            expires_at=expiry(unit.now()),
        )
    return flow.id, state


def test_a_pending_flow_is_found_by_its_state_and_keeps_its_verifier_sealed(
    runtime: Runtime, members: Actor
) -> None:
    flow_id, state = _start(runtime, members)
    with runtime.unit(write=False) as unit:
        flow = unit.flows.by_state_hash(state_hash(state))
        assert flow is not None and flow.id == flow_id
        assert unit.flows.secrets_of(flow) == {"code_verifier": "verifier-that-must-stay-secret"}
    dump = str(snapshot(runtime.database))
    assert "verifier-that-must-stay-secret" not in dump and state not in dump


def test_a_flow_is_consumed_once_and_its_secrets_are_dropped(
    runtime: Runtime, members: Actor
) -> None:
    _, state = _start(runtime, members)
    with runtime.unit() as unit:
        flow = unit.flows.by_state_hash(state_hash(state))
        assert flow is not None
        assert unit.flows.consume(flow, unit.now(), "connected")
        assert not unit.flows.consume(flow, unit.now(), "connected")
        assert unit.flows.secrets_of(flow) == {}


def test_two_racing_callbacks_consume_a_flow_only_once(runtime: Runtime, members: Actor) -> None:
    _, state = _start(runtime, members)
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def consume() -> None:
        barrier.wait()
        with runtime.unit() as unit:
            flow = unit.flows.by_state_hash(state_hash(state))
            assert flow is not None
            results.append(unit.flows.consume(flow, unit.now(), "connected"))

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
