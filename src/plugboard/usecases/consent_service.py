"""OAuth consents started on a server, as a usecase service bound to (runtime, acting
principal) and the server's long-lived consent engine: calls return public records. The
provider's callback (no principal: the single-use state binds it) goes to the engine itself."""

from __future__ import annotations

from collections.abc import Sequence

from plugboard.domain.principal import Principal
from plugboard.errors import NotFound
from plugboard.records import ConsentStarted, ConsentStatus
from plugboard.usecases.consent import ConsentFlows
from plugboard.usecases.runtime import Runtime

__all__ = ["Consents"]


class Consents:
    def __init__(self, runtime: Runtime, actor: Principal, flows: ConsentFlows) -> None:
        self._runtime = runtime
        self._actor = actor
        self._flows = flows

    def start(self, link_name: str, *, environments: Sequence[str] = ()) -> ConsentStarted:
        """Start an OAuth consent; the person has the consent window from now to complete it."""
        started = self._flows.start(self._actor, connection=link_name, environments=environments)
        return ConsentStarted(
            flow_id=started.flow_id, authorize_url=started.authorize_url,
            expires_at=started.expires_at,
        )  # fmt: skip

    def status(self, flow_id: str) -> ConsentStatus:
        """Whether a consent the actor started is pending, completed, failed or expired;
        anyone else's is reported as not found, like an unknown id."""
        with self._runtime.unit(write=False) as unit:
            flow = unit.flows.by_id(flow_id)
            if flow.initiated_by != self._actor.user_id:
                raise NotFound("consent", flow_id)
            state = flow.state_at(unit.now())
        return ConsentStatus(flow_id=flow_id, state=state.value, outcome=flow.outcome)
