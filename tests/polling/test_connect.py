"""An API that learns its capabilities first is asked to, before a run is planned."""

from __future__ import annotations

from polling import Capabilities, Poller, RateLimit, RequestKind, strategy_from
from polling.testing import SimulatedJobStore, run_in_virtual_time


class LateDeclaring(SimulatedJobStore):
    """A store that declares nothing until `connect` has read its capabilities."""

    def __init__(self) -> None:
        super().__init__(rate_limit=RateLimit(per_second=50.0, burst=10))
        self.connected = 0

    @property
    def capabilities(self) -> Capabilities:
        return super().capabilities if self.connected else Capabilities()

    async def connect(self) -> None:
        self.connected += 1


def test_the_run_is_planned_on_what_connect_learned() -> None:
    """After `connect`, the stack uses the feed and batch submits it now sees."""
    store = LateDeclaring()
    poller = Poller(store, strategy_from("stack"), progress=False)

    outcomes = run_in_virtual_time(poller, range(20))

    assert store.connected == 1
    assert [outcome.result for outcome in outcomes] == list(range(20))
    assert store.requests[RequestKind.FEED] >= 1
    assert store.requests[RequestKind.GET] == 0
    assert store.requests[RequestKind.BATCH_SUBMIT] == 1
