"""A million requests from a generator: read lazily, few tasks, flat memory.

Running all 1,000,000 jobs through the engine takes minutes even in virtual time,
so the test streams the first 4,000 outcomes of a 1,000,000-request generator and
then stops reading, which ends the run. What it checks does not depend on how far
the run goes: how far the generator was read ahead of the outcomes, the most tasks
alive at once, and memory that stays flat while jobs finish.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator, Sequence
from typing import Any

import anyio
import attrs
from faultkit import TaskCounter

from polling import Capabilities, FeedPage, JobId, JobState, JobStatus, Poller
from polling.testing import mock_clock

MILLION = 1_000_000
IN_FLIGHT = 50
STREAMED = 4_000


class ForgetfulAPI:
    """Single calls, answered after 10 ms; a job is forgotten once read done.

    Keeps the store's memory out of the measure: what grows is the client's.
    """

    capabilities = Capabilities()

    def clock(self) -> float:
        return anyio.current_time()

    async def submit(self, request: Any, *, idempotency_key: str | None) -> JobId:
        await anyio.sleep(0.01)
        return JobId(str(request))

    async def get(self, job_id: JobId) -> JobState:
        await anyio.sleep(0.01)
        return JobState(
            job_id,
            JobStatus.COMPLETED,
            result=int(job_id),
            has_result=True,
            completed_at=anyio.current_time(),
        )

    async def submit_many(
        self, requests: Sequence[Any], *, idempotency_keys: Sequence[str | None]
    ) -> list[JobId]:
        raise NotImplementedError

    async def status_many(
        self, job_ids: Sequence[JobId], *, wait: float | None = None
    ) -> dict[JobId, JobState]:
        raise NotImplementedError

    async def results_many(self, job_ids: Sequence[JobId]) -> dict[JobId, JobState]:
        raise NotImplementedError

    async def feed(
        self,
        cursor: str | None,
        *,
        limit: int,
        wait: float,
        since: float | None = None,
    ) -> FeedPage:
        raise NotImplementedError


@attrs.define
class Measures:
    read: int = 0
    most_ahead: int = 0
    memory_at: dict[int, int] = attrs.Factory(dict)
    results_in_order: bool = True


def _requests(measures: Measures) -> Iterator[int]:
    for n in range(MILLION):
        measures.read += 1
        yield n


async def _stream_the_first_outcomes(measures: Measures) -> None:
    poller = Poller(
        ForgetfulAPI(),
        f"semaphore:concurrency={IN_FLIGHT},interval=0.01",
        max_in_flight=IN_FLIGHT,
        progress=False,
    )
    received = 0
    async with poller.stream(_requests(measures)) as outcomes:
        async for outcome in outcomes:
            received += 1
            measures.most_ahead = max(measures.most_ahead, measures.read - received)
            measures.results_in_order &= outcome.result == outcome.index
            if received in (STREAMED // 2, STREAMED):
                measures.memory_at[received] = tracemalloc.get_traced_memory()[0]
            if received == STREAMED:
                break


def test_a_million_requests_are_read_lazily_with_bounded_tasks_and_memory() -> None:
    """Read at most 10 x the in-flight limit ahead of the outcomes, at most 2 x
    it (+ 10) tasks alive, and under 1 MB more held after 4,000 outcomes than
    after 2,000."""
    measures = Measures()
    counter = TaskCounter()
    tracemalloc.start()
    try:
        anyio.run(
            _stream_the_first_outcomes,
            measures,
            backend="trio",
            backend_options={"clock": mock_clock(), "instruments": [counter]},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert measures.results_in_order
    assert measures.read < STREAMED + 10 * IN_FLIGHT
    assert measures.most_ahead <= 10 * IN_FLIGHT
    # Submitters and workers are each bounded by the in-flight limit.
    assert counter.most <= 2 * IN_FLIGHT + 10
    growth = measures.memory_at[STREAMED] - measures.memory_at[STREAMED // 2]
    assert growth < 1_000_000
    # A list of the million requests alone would hold over 30 MB.
    assert peak < 10_000_000
