"""A simulated job store that implements `JobAPI` in process, on anyio's clock.

Run it on trio's `MockClock(autojump_threshold=0)` and hours of polling take
milliseconds, with every count exact: a job's whole life is decided the moment it is
submitted (when a worker takes it, how long it runs, whether it fails), so the store
keeps no background tasks and answers every question from arithmetic on the clock.
"""

from __future__ import annotations

import heapq
import math
import random
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Final

import anyio
import attrs
import sniffio
from anyio.lowlevel import RunVar
from sortedcontainers import SortedKeyList

from .._api import Capabilities, FeedPage, RateLimit
from .._errors import (
    CapabilityMissing,
    ConfigError,
    RateLimited,
    RejectedError,
    TransientError,
)
from .._types import JobId, JobState, JobStatus, RequestKind

SEVEN_DAYS: Final = 7 * 24 * 3600.0

# Events belong to one event loop; a store used again from a new loop (a
# notebook cell run twice) gets fresh ones.
_NEW_JOBS: RunVar[weakref.WeakKeyDictionary[SimulatedJobStore, anyio.Event]] = RunVar(
    "polling_sim_new_jobs"
)


@attrs.frozen
class Faults:
    """Faults injected into the simulated store, each a probability per request.

    Args:
        transport_error: The request never reaches the store (a connect error).
        server_error: The store answers 503 without doing anything.
        lost_response: The store does the work, then the answer is lost.
        rate_limited: The store answers 429 with `retry_after` seconds.
        retry_after: The `Retry-After` of those 429s, seconds; None sends them
            without one.
        slow: The request reaches the store `slow_by` seconds late.
        slow_by: How late, seconds.
        late_answer: The store does the work, then its answer takes `late_by`
            seconds more to come back: a job can finish, and be seen finished,
            before the answer to its submit reaches the client.
        late_by: How late, seconds.
    """

    transport_error: float = 0.0
    server_error: float = 0.0
    lost_response: float = 0.0
    rate_limited: float = 0.0
    retry_after: float | None = 1.0
    slow: float = 0.0
    slow_by: float = 1.0
    late_answer: float = 0.0
    late_by: float = 1.0


class _Job:
    __slots__ = ("end", "fails", "job_id", "request", "seq", "start", "submitted")

    def __init__(
        self,
        seq: int,
        job_id: JobId,
        request: Any,
        submitted: float,
        start: float,
        end: float,
        fails: bool,
    ) -> None:
        self.seq = seq
        self.job_id = job_id
        self.request = request
        self.submitted = submitted
        self.start = start
        self.end = end
        self.fails = fails


def _backend_clock() -> Callable[[], float]:
    """The running backend's own clock function.

    `anyio.current_time` finds the backend on every call; the store reads the clock
    several times per request, and going straight to trio's saves a third of the
    time of a simulated run. Asyncio runs keep anyio's.
    """
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.current_time
    return anyio.current_time


class _Ticker:
    """Sleeps that end at the same instant share one timer.

    A thousand requests sent together all end one round trip later; waking them
    with one timer instead of a thousand timers makes the simulation several
    times faster, with the same virtual times. Each sleeper waits on an event of
    its own, set in the order they came: one event shared by all would wake them
    in the order of a set of tasks, which differs from process to process, and a
    seeded run would not repeat.
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._sleepers: dict[float, list[anyio.Event]] = {}

    async def sleep_until(self, deadline: float) -> None:
        while self._now() < deadline:
            sleepers = self._sleepers.get(deadline)
            if sleepers is not None:
                wake = anyio.Event()
                sleepers.append(wake)
                await wake.wait()
                continue
            sleepers = self._sleepers[deadline] = []
            try:
                await anyio.sleep_until(deadline)
            finally:
                # Woken early or cancelled, the others loop and one takes over.
                del self._sleepers[deadline]
                for wake in sleepers:
                    wake.set()


class _TokenBucket:
    """The store's own limit: `burst` tokens, refilled at `per_second`."""

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.updated = now

    def take(self, now: float) -> float | None:
        """Take a token; None if one was there, else the seconds until one is."""
        rate, burst = self.limit.per_second, self.limit.burst
        self.tokens = min(burst, self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / rate


DurationOf = Callable[[Any], float]
FailsOf = Callable[[Any], bool]


class SimulatedJobStore:
    """A job API in process: a worker pool, a queue, failures, limits and faults.

    Args:
        duration_of: How long the job for a request runs, seconds.
        fails_of: Whether the job for a request fails.
        workers: Jobs run at once; the rest wait in a FIFO queue. None: no queue.
        api: `"full"` (every capability) or `"sdk-only"` (submit and get; every
            other request answers 404).
        rate_limit: The store's limit per key; None for none.
        round_trip: Seconds from sending a request to its answer.
        batch_limit: The most ids or requests one batch takes.
        max_wait: The longest the store holds a wait or feed request open.
        feed_linger: How long the feed waits after a first new completion for more.
        retention: Seconds a result stays readable after its job ends.
        faults: Faults to inject, drawn from a generator seeded by `seed`.
        declared: The capabilities announced, if not the true ones: a store that
            declares more than it has makes the client learn from 404s.
        record_checks: Keep when each job was asked about, for staleness checks.
        seed: Makes the faults repeat.
    """

    def __init__(
        self,
        *,
        duration_of: DurationOf = lambda request: 1.0,
        fails_of: FailsOf = lambda request: False,
        workers: int | None = None,
        api: str = "full",
        rate_limit: RateLimit | None = None,
        round_trip: float = 0.02,
        batch_limit: int = 1000,
        max_wait: float = 30.0,
        feed_linger: float = 0.25,
        retention: float = SEVEN_DAYS,
        faults: Faults | None = None,
        declared: Capabilities | None = None,
        record_checks: bool = False,
        seed: int = 0,
    ) -> None:
        if api not in ("full", "sdk-only"):
            raise ConfigError(f"api must be 'full' or 'sdk-only', got {api!r}")
        self.api = api
        self.duration_of = duration_of
        self.fails_of = fails_of
        self.workers = workers
        self.rate_limit = rate_limit
        self.round_trip = round_trip
        self.batch_limit = batch_limit
        self.max_wait = max_wait
        self.feed_linger = feed_linger
        self.retention = retention
        self.faults = faults or Faults()
        self.record_checks = record_checks
        self._declared = declared
        self._rng = random.Random(seed)
        self._clock: Callable[[], float] | None = None
        self._ticker = _Ticker(self._now)
        self._jobs: dict[JobId, _Job] = {}
        self._by_key: dict[str, JobId] = {}
        self._free_at: list[float] = []
        self._ends: SortedKeyList[_Job] = SortedKeyList(key=_end_order)
        self._bucket: _TokenBucket | None = None
        self.requests: Counter[RequestKind] = Counter()
        """Every request received, by kind, rejected ones included."""
        self.rejected = 0
        """Requests answered 429."""
        self.created: Counter[Any] = Counter()
        """How many jobs each request created: more than one is a duplicate."""
        self.checks: dict[JobId, list[float]] = {}
        """When each job was asked about (with `record_checks`)."""
        self.feed_times: list[float] = []
        """When the feed answered (with `record_checks`): it covers every job."""
        self.in_flight = 0
        """Requests on their way now, there or back."""
        self.max_in_flight = 0
        """The most requests on their way at once."""
        self.largest_batch = 0
        """The most ids or requests one batch asked for, refused ones included."""
        self.arrivals: list[float] = []
        """When each request reached the store (with `record_checks`)."""
        self.rejections: list[float] = []
        """When the store answered 429 (with `record_checks`)."""

    @property
    def capabilities(self) -> Capabilities:
        """What the store announces."""
        if self._declared is not None:
            return self._declared
        if self.api == "sdk-only":
            return Capabilities(rate_limit=self.rate_limit)
        return Capabilities(
            batch_submit=self.batch_limit,
            batch_status=self.batch_limit,
            batch_results=self.batch_limit,
            wait=self.max_wait,
            feed=self.batch_limit,
            feed_wait=self.max_wait,
            rate_limit=self.rate_limit,
            idempotent_submit=True,
        )

    def clock(self) -> float:
        """The store's clock: anyio's, the same as the client's."""
        return self._now()

    def _now(self) -> float:
        if self._clock is None:
            self._clock = _backend_clock()
        return self._clock()

    def job_count(self) -> int:
        """How many jobs the store holds."""
        return len(self._jobs)

    def completion_time(self, job_id: JobId) -> float:
        """When a job ends (or ended); for tests."""
        return self._jobs[job_id].end

    def submission_time(self, job_id: JobId) -> float:
        """When a job was created; for tests."""
        return self._jobs[job_id].submitted

    async def submit(self, request: Any, *, idempotency_key: str | None) -> JobId:
        """Create one job."""
        late = await self._arrive(RequestKind.SUBMIT, full_only=False)
        job_id = self._create(request, idempotency_key)
        await self._answer(late)
        self._maybe_lose_response()
        return job_id

    async def submit_many(
        self, requests: Sequence[Any], *, idempotency_keys: Sequence[str | None]
    ) -> list[JobId]:
        """Create many jobs in one request."""
        late = await self._arrive(RequestKind.BATCH_SUBMIT, full_only=True)
        self._check_batch(requests)
        job_ids = [
            self._create(request, key)
            for request, key in zip(requests, idempotency_keys, strict=True)
        ]
        await self._answer(late)
        self._maybe_lose_response()
        return job_ids

    async def get(self, job_id: JobId) -> JobState:
        """One job, with its result once completed."""
        late = await self._arrive(RequestKind.GET, full_only=False)
        state = self._state(job_id, with_result=True)
        await self._answer(late)
        return state

    async def status_many(
        self, job_ids: Sequence[JobId], *, wait: float | None = None
    ) -> dict[JobId, JobState]:
        """Many jobs' states, held open up to `wait` until one of them changes."""
        kind = RequestKind.BATCH_STATUS if wait is None else RequestKind.WAIT
        late = await self._arrive(kind, full_only=True)
        self._check_batch(job_ids)
        if wait:
            await self._hold_until_change(job_ids, wait)
        states = {job_id: self._state(job_id, with_result=False) for job_id in job_ids}
        await self._answer(late)
        return states

    async def results_many(self, job_ids: Sequence[JobId]) -> dict[JobId, JobState]:
        """Many jobs' states, with the results of those completed."""
        late = await self._arrive(RequestKind.BATCH_RESULTS, full_only=True)
        self._check_batch(job_ids)
        states = {job_id: self._state(job_id, with_result=True) for job_id in job_ids}
        await self._answer(late)
        return states

    async def feed(
        self,
        cursor: str | None,
        *,
        limit: int,
        wait: float,
        since: float | None = None,
    ) -> FeedPage:
        """The jobs that ended after `cursor` (or `since`), in order of their ends."""
        late = await self._arrive(RequestKind.FEED, full_only=True)
        start = int(cursor) if cursor else 0
        if cursor is None and since is not None:
            start = self._ends.bisect_key_right((since, math.inf))
        limit = min(limit, self.batch_limit)
        deadline = self._now() + min(wait, self.max_wait)
        while True:
            # New jobs may end sooner than any known one: look again when they come.
            answer_at = self._feed_answer_time(start, limit, deadline)
            news = self._new_jobs()
            with anyio.move_on_after(answer_at - self._now()):
                await news.wait()
                continue
            break
        now = self._now()
        ready = self._ends.bisect_key_right((now, math.inf))
        page = list(self._ends.islice(start, min(ready, start + limit)))
        if self.record_checks:
            self.feed_times.append(now)
        states = tuple(self._state_of(job, now, with_result=True) for job in page)
        await self._answer(late)
        return FeedPage(states, str(start + len(page)))

    def _new_jobs(self) -> anyio.Event:
        """Set when a job is created: wakes feed requests held open."""
        try:
            events = _NEW_JOBS.get()
        except LookupError:
            events = weakref.WeakKeyDictionary()
            _NEW_JOBS.set(events)
        if self not in events:
            events[self] = anyio.Event()
        return events[self]

    def _feed_answer_time(self, start: int, limit: int, deadline: float) -> float:
        """When a feed request should answer: a full page, a linger, or the wait."""
        now = self._now()
        if len(self._ends) <= start:
            return deadline
        first: _Job = self._ends[start]
        answer = max(now, first.end + self.feed_linger)
        if len(self._ends) >= start + limit:
            page_full: _Job = self._ends[start + limit - 1]
            answer = min(answer, max(now, page_full.end))
        return min(answer, deadline)

    async def _hold_until_change(self, job_ids: Sequence[JobId], wait: float) -> None:
        now = self._now()
        soonest = now + min(wait, self.max_wait)
        for job_id in job_ids:
            job = self._jobs.get(job_id)
            if job is None:
                return
            for change in (job.start, job.end, job.end + self.retention):
                if change > now:
                    soonest = min(soonest, change)
                    break
            else:
                return
        await self._ticker.sleep_until(soonest)

    def _create(self, request: Any, key: str | None) -> JobId:
        if key is not None and key in self._by_key:
            return self._by_key[key]
        now = self._now()
        start = now
        duration = self.duration_of(request)
        if self.workers is not None:
            if len(self._free_at) < self.workers:
                heapq.heappush(self._free_at, now + duration)
            else:
                start = max(now, self._free_at[0])
                heapq.heapreplace(self._free_at, start + duration)
        seq = len(self._jobs)
        job_id = JobId(f"job-{seq:08d}")
        end = start + duration
        job = _Job(seq, job_id, request, now, start, end, self.fails_of(request))
        self._jobs[job_id] = job
        self._ends.add(job)
        self._new_jobs().set()
        _NEW_JOBS.get()[self] = anyio.Event()
        self.created[request] += 1
        if key is not None:
            self._by_key[key] = job_id
        return job_id

    def _state(self, job_id: JobId, *, with_result: bool) -> JobState:
        job = self._jobs.get(job_id)
        now = self._now()
        if self.record_checks:
            self.checks.setdefault(job_id, []).append(now)
        if job is None:
            return JobState(job_id, JobStatus.NOT_FOUND)
        return self._state_of(job, now, with_result=with_result)

    def _state_of(self, job: _Job, now: float, *, with_result: bool) -> JobState:
        if now < job.start:
            return JobState(job.job_id, JobStatus.PENDING)
        if now < job.end:
            return JobState(job.job_id, JobStatus.RUNNING, started_at=job.start)
        if now >= job.end + self.retention:
            return JobState(
                job.job_id,
                JobStatus.EXPIRED,
                started_at=job.start,
                completed_at=job.end,
            )
        if job.fails:
            return JobState(
                job.job_id,
                JobStatus.FAILED,
                error="the job failed",
                started_at=job.start,
                completed_at=job.end,
            )
        return JobState(
            job.job_id,
            JobStatus.COMPLETED,
            result=job.request if with_result else None,
            has_result=with_result,
            started_at=job.start,
            completed_at=job.end,
        )

    def _check_batch(self, items: Sequence[Any]) -> None:
        self.largest_batch = max(self.largest_batch, len(items))
        if len(items) > self.batch_limit:
            raise RejectedError(
                f"a batch takes at most {self.batch_limit} items, got {len(items)}"
            )

    async def _arrive(self, kind: RequestKind, *, full_only: bool) -> float:
        """Travel to the store, then pass its checks: faults, capability, limit.

        Returns how late the answer will be, once the store has done the work.
        """
        faults, rng = self.faults, self._rng
        if faults.transport_error and rng.random() < faults.transport_error:
            await self._ticker.sleep_until(self._now() + self.round_trip)
            raise TransientError("simulated connection reset", sent=False, kind=kind)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay = self.round_trip
            if faults.slow and rng.random() < faults.slow:
                delay += faults.slow_by
            await self._ticker.sleep_until(self._now() + delay)
        finally:
            self.in_flight -= 1
        self.requests[kind] += 1
        if self.record_checks:
            self.arrivals.append(self._now())
        if faults.server_error and rng.random() < faults.server_error:
            raise TransientError("simulated 503", kind=kind)
        if full_only and self.api == "sdk-only":
            raise CapabilityMissing(f"{kind.value}: 404 Not Found", kind=kind)
        if faults.rate_limited and rng.random() < faults.rate_limited:
            self._reject()
            raise RateLimited("simulated 429", retry_after=faults.retry_after)
        self._take_token(kind)
        if faults.late_answer and rng.random() < faults.late_answer:
            return faults.late_by
        return 0.0

    async def _answer(self, late: float) -> None:
        """Carry an answer back, `late` seconds after the store gave it."""
        if not late:
            return
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._ticker.sleep_until(self._now() + late)
        finally:
            self.in_flight -= 1

    def _take_token(self, kind: RequestKind) -> None:
        if self.rate_limit is None:
            return
        now = self._now()
        if self._bucket is None:
            self._bucket = _TokenBucket(self.rate_limit, now)
        wait = self._bucket.take(now)
        if wait is not None:
            self._reject()
            # Retry-After is whole seconds on the wire.
            raise RateLimited("429 Too Many Requests", retry_after=math.ceil(wait))

    def _reject(self) -> None:
        self.rejected += 1
        if self.record_checks:
            self.rejections.append(self._now())

    def _maybe_lose_response(self) -> None:
        lost = self.faults.lost_response
        if lost and self._rng.random() < lost:
            raise TransientError("simulated lost response", sent=True)


def _end_order(job: _Job) -> tuple[float, int]:
    return (job.end, job.seq)
