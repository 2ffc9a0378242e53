"""The simulated job store: jobs, queue, capabilities, limits and faults."""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import pytest

from polling import (
    CapabilityMissing,
    JobId,
    JobStatus,
    RateLimit,
    RateLimited,
    RejectedError,
    RequestKind,
    TransientError,
)
from polling.testing import Faults, SimulatedJobStore, run_virtual


def _instant(**options: Any) -> SimulatedJobStore:
    return SimulatedJobStore(round_trip=0.0, **options)


def test_job_runs_for_its_duration_then_completes_with_its_request() -> None:
    """A job is running until its duration has passed, then echoes its request."""
    store = _instant(duration_of=lambda request: 5.0)

    async def scenario() -> list[JobStatus]:
        job = await store.submit("x", idempotency_key=None)
        seen = [(await store.get(job)).status]
        await anyio.sleep(4.0)
        seen.append((await store.get(job)).status)
        await anyio.sleep(1.0)
        done = await store.get(job)
        assert done.result == "x"
        return [*seen, done.status]

    assert run_virtual(scenario) == [
        JobStatus.RUNNING,
        JobStatus.RUNNING,
        JobStatus.COMPLETED,
    ]


def test_workers_run_jobs_first_in_first_out() -> None:
    """With one worker, three 1-second jobs end at 1, 2 and 3 s."""
    store = _instant(workers=1)

    async def scenario() -> list[float]:
        ids = [await store.submit(n, idempotency_key=None) for n in range(3)]
        return [store.completion_time(job) for job in ids]

    assert run_virtual(scenario) == [1.0, 2.0, 3.0]


def test_queued_job_is_pending_until_a_worker_takes_it() -> None:
    """A job behind a busy worker reports pending, not running."""
    store = _instant(workers=1)

    async def scenario() -> JobStatus:
        await store.submit(0, idempotency_key=None)
        second = await store.submit(1, idempotency_key=None)
        return (await store.get(second)).status

    assert run_virtual(scenario) is JobStatus.PENDING


def test_result_expires_after_the_retention_period() -> None:
    """A job read after its retention ends reports expired."""
    store = _instant(retention=10.0)

    async def scenario() -> JobStatus:
        job = await store.submit(0, idempotency_key=None)
        await anyio.sleep(11.0)
        return (await store.get(job)).status

    assert run_virtual(scenario) is JobStatus.EXPIRED


def test_unknown_job_is_not_found() -> None:
    """An id the store never issued is not found."""
    state = run_virtual(_instant().get, JobId("nope"))
    assert state.status is JobStatus.NOT_FOUND


def test_sdk_only_store_answers_404_to_batch_calls() -> None:
    """Every call beyond submit and get is missing on the SDK-only API."""
    store = _instant(api="sdk-only")
    with pytest.raises(CapabilityMissing, match="batch_status: 404"):
        run_virtual(store.status_many, [JobId("a")])
    assert not store.capabilities.has(RequestKind.BATCH_STATUS)


def test_full_store_declares_every_capability() -> None:
    """The full API declares every batch call, the wait, the feed and keys."""
    caps = _instant(batch_limit=50).capabilities
    assert all(caps.has(kind) for kind in RequestKind)
    assert (caps.batch_status, caps.idempotent_submit) == (50, True)


def test_batch_over_the_limit_is_rejected() -> None:
    """A batch longer than the store takes is refused as malformed."""
    store = _instant(batch_limit=2)
    with pytest.raises(RejectedError, match="at most 2 items, got 3"):
        run_virtual(store.results_many, [JobId("a"), JobId("b"), JobId("c")])


def test_status_without_results_carries_no_result() -> None:
    """Batch status reports completion but not the result."""
    store = _instant(duration_of=lambda request: 0.0)

    async def scenario() -> tuple[bool, bool]:
        job = await store.submit(7, idempotency_key=None)
        status = (await store.status_many([job]))[job]
        results = (await store.results_many([job]))[job]
        return status.has_result, results.has_result and results.result == 7

    assert run_virtual(scenario) == (False, True)


def test_idempotency_key_returns_the_first_job() -> None:
    """A submit repeated with its key returns the same job and creates none."""
    store = _instant()

    async def scenario() -> tuple[JobId, JobId]:
        first = await store.submit("x", idempotency_key="k")
        return first, await store.submit("x", idempotency_key="k")

    first, second = run_virtual(scenario)
    assert first == second
    assert store.created["x"] == 1


def test_wait_returns_when_a_job_changes() -> None:
    """A long-poll wait on a running job answers when it ends, not at its bound."""
    store = _instant(duration_of=lambda request: 3.0)

    async def scenario() -> tuple[float, JobStatus]:
        job = await store.submit(0, idempotency_key=None)
        states = await store.status_many([job], wait=20.0)
        return anyio.current_time(), states[job].status

    assert run_virtual(scenario) == (3.0, JobStatus.COMPLETED)


def test_feed_pages_through_jobs_in_order_of_completion() -> None:
    """The feed lists finished jobs by end time, and its cursor resumes after them."""
    durations = {0: 3.0, 1: 1.0, 2: 2.0}
    store = _instant(duration_of=durations.__getitem__)

    async def scenario() -> tuple[list[int], list[int]]:
        for n in range(3):
            await store.submit(n, idempotency_key=None)
        await anyio.sleep(5.0)
        first = await store.feed(None, limit=2, wait=0.0)
        rest = await store.feed(first.cursor, limit=2, wait=0.0)
        return [s.result for s in first.jobs], [s.result for s in rest.jobs]

    assert run_virtual(scenario) == ([1, 2], [0])


def test_store_rate_limit_answers_429_with_whole_seconds() -> None:
    """Beyond its burst the store refuses, with a Retry-After rounded up."""
    store = _instant(rate_limit=RateLimit(per_second=0.5, burst=1))

    async def scenario() -> None:
        await store.get(JobId("a"))
        await store.get(JobId("a"))

    with pytest.raises(RateLimited) as error:
        run_virtual(scenario)
    assert error.value.retry_after == 2
    assert store.rejected == 1


def test_requests_are_counted_by_kind_rejected_ones_included() -> None:
    """Every request received is counted under its kind."""
    store = _instant(api="sdk-only")

    async def scenario() -> None:
        await store.get(JobId("a"))
        with contextlib.suppress(CapabilityMissing):
            await store.results_many([JobId("a")])

    run_virtual(scenario)
    assert dict(store.requests) == {RequestKind.GET: 1, RequestKind.BATCH_RESULTS: 1}


def test_transport_error_never_reaches_the_store() -> None:
    """A connect error is raised as not sent, and the store counts nothing."""
    store = _instant(faults=Faults(transport_error=1.0))
    with pytest.raises(TransientError) as error:
        run_virtual(store.get, JobId("a"))
    assert error.value.sent is False
    assert sum(store.requests.values()) == 0


def test_lost_response_creates_the_job_all_the_same() -> None:
    """A submit whose answer is lost has still created its job."""
    store = _instant(faults=Faults(lost_response=1.0))

    async def scenario() -> None:
        await store.submit("x", idempotency_key=None)

    with pytest.raises(TransientError, match="lost response"):
        run_virtual(scenario)
    assert store.job_count() == 1


def test_slow_answer_comes_late_by_the_set_delay() -> None:
    """A slow answer arrives `slow_by` seconds after the round trip."""
    store = SimulatedJobStore(faults=Faults(slow=1.0, slow_by=4.0), round_trip=0.5)

    async def scenario() -> float:
        await store.get(JobId("a"))
        return anyio.current_time()

    assert run_virtual(scenario) == 4.5


def test_faults_repeat_for_a_seed() -> None:
    """Two stores with the same seed fail the same requests."""

    def pattern(seed: int) -> list[bool]:
        store = _instant(faults=Faults(server_error=0.5), seed=seed)

        async def scenario() -> list[bool]:
            failed = []
            for _ in range(20):
                try:
                    await store.get(JobId("a"))
                    failed.append(False)
                except TransientError:
                    failed.append(True)
            return failed

        return run_virtual(scenario)

    assert pattern(4) == pattern(4)
    assert pattern(4) != pattern(5)
