"""A server limited to 10 single gets a second: every result back, under the limit."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import anyio

from polling import Capabilities, JobId, Outcome, OutcomeKind, Poller, RateLimit
from polling.testing import SimulatedJobStore, run_virtual

LIMIT = 10
JOBS = 62


def most_in_any_second(times: Sequence[float]) -> int:
    """The most arrivals within any window of one second."""
    ordered = sorted(times)
    counts = [
        bisect.bisect_left(ordered, start + 1.0) - i for i, start in enumerate(ordered)
    ]
    return max(counts, default=0)


def _collect_done_jobs(store: SimulatedJobStore, poller: Poller) -> list[Outcome]:
    """Submit 62 jobs unlimited, let them finish, then limit the store and collect."""

    async def scenario() -> list[Outcome]:
        ids: list[JobId] = [
            await store.submit(n, idempotency_key=None) for n in range(JOBS)
        ]
        await anyio.sleep(5.0)
        store.rate_limit = RateLimit(per_second=LIMIT, burst=1)
        store.arrivals.clear()
        return await poller.collect_jobs(ids)

    return run_virtual(scenario)


def test_62_done_jobs_under_10_gets_a_second_all_come_back_under_the_limit() -> None:
    """The server claims a burst of 10 but allows 1: the client's first burst meets
    429s, and from the first 429 on no second holds more than 10 requests."""
    store = SimulatedJobStore(
        api="sdk-only",
        declared=Capabilities(rate_limit=RateLimit(per_second=LIMIT, burst=10)),
        record_checks=True,
    )
    poller = Poller(store, "semaphore", deadline=600, progress=False, seed=0)

    outcomes = _collect_done_jobs(store, poller)

    assert [o.kind for o in outcomes] == [OutcomeKind.COMPLETED] * JOBS
    assert [o.result for o in outcomes] == list(range(JOBS))
    assert store.rejected == 4
    first_429 = min(store.rejections)
    after = [t for t in store.arrivals if t > first_429]
    assert most_in_any_second(after) <= LIMIT
    assert poller.report is not None
    assert poller.report.rejected == 4
    assert sum(poller.report.requests.values()) == JOBS + 4
