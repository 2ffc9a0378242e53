"""The poller engine: submits jobs, performs what the strategy decides, ends every job.

One task runs the loop: it shows the strategy the board, sends the checks it asks
for to a pool of workers, and applies every answer. Only the loop changes the board,
so nothing on it needs a lock. Workers and submitters talk to the loop through one
unbounded channel of events; bounded work comes from the worker pool, which never
exceeds the in-flight limit.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import sys
import uuid
from array import array
from collections import Counter, deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
    Sized,
)
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from tqdm import tqdm

from ._api import JobAPI, RateLimit
from ._budget import Backoff, Budget
from ._errors import (
    AuthError,
    CapabilityMissing,
    ConfigError,
    DeadlineExceeded,
    PollingError,
    ProtocolError,
    RejectedError,
    RequestError,
    TransientError,
)
from ._registry import strategy_from
from ._report import DelaySummary, Report
from ._strategy import Board, Check, Poll, PollStrategy, Reply, Submitted, Tracked
from ._types import (
    JobId,
    JobState,
    JobStatus,
    Outcome,
    OutcomeKind,
    RequestKind,
    outcome_kind_of,
)
from ._validate import positive, positive_int

log = logging.getLogger("polling")

T = TypeVar("T")

_BATCH_SUBMITTERS = 4
"""Batch submits sent at once: enough to hide the round trip, few enough to pace."""

_ARRIVAL_BUFFER = 1000
"""Requests from an async iterable read ahead of the submitters, at most."""

_SUBMIT_LINGER = 0.25
"""How long a batch submit waits for more requests to arrive, seconds."""

_UNLIMITED_SUBMITTERS = 100
"""Single submits sent at once when nothing else limits them."""

_SUBMIT_QUEUE = 0.1
"""Seconds of paced sending that waiting submits may take up, under a rate."""

_FEED_SKEW = 60.0
"""Seconds before its start that a run reads the completion feed from, when it
submits its own jobs: none of them can finish earlier, and the margin absorbs a
client clock that runs ahead of the API's. A longer one makes a run that follows
another closely read through more of the other's completions first."""

_RATE_MARGIN = 0.95
"""The share of a declared rate limit the client uses, so it stays under it."""


def _positive_or_none(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is not None:
        positive(instance, attribute, value)


def _positive_int_or_none(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is not None:
        positive_int(instance, attribute, value)


def _is_job_api(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, JobAPI):
        raise ConfigError(
            f"api must be a JobAPI (with capabilities, clock, submit, get, ...), "
            f"got {type(value).__name__}"
        )


def _strategy(value: Any) -> PollStrategy:
    """A strategy, or one built from its name or mapping (`strategy_from`)."""
    return strategy_from(value)


def _iterable(items: Any) -> Iterable[Any] | AsyncIterable[Any]:
    if not isinstance(items, Iterable | AsyncIterable) or isinstance(items, str):
        raise ConfigError(
            f"requests must be an iterable of requests, got {type(items).__name__}"
        )
    return items


@attrs.frozen
class _Done:
    """An outcome reached outside the loop (a submit that failed)."""

    outcome: Outcome


@attrs.frozen
class _Created:
    """Jobs created, with their input positions."""

    indices: tuple[int, ...]
    job_ids: tuple[JobId, ...]


@attrs.frozen
class _SubmitAnswered:
    """A submit request has been answered, and its jobs or failures reported."""

    number: int


@attrs.frozen
class _SubmitFinished:
    pass


_Event = _Created | Reply | _Done | _SubmitAnswered | _SubmitFinished


@attrs.define
class Poller:
    """Collects the outcomes of many jobs from one job API with one strategy.

    Args:
        api: The job API.
        strategy: How to poll; see `polling.strategy_from` to pick one by name.
        deadline: Seconds from the start of a run after which every job still
            unfinished ends as `timed_out`; None waits as long as it takes.
        request_timeout: Seconds one request may go unanswered (a long-poll's
            hold added) before it counts as a transient failure and is retried;
            separate from `deadline`, which bounds the whole run.
        max_in_flight: The most requests on their way at once; a strategy that
            sets its own gets the stricter of the two. None for no limit.
        rate: The pace to keep; by default a little under the API's declared limit.
        backoff: How transient failures and 429s are retried.
        progress: Show tqdm progress bars; by default only on a terminal.
        seed: Seeds the jitter and the idempotency keys, so that a run repeats.
    """

    api: JobAPI = attrs.field(validator=_is_job_api)
    strategy: PollStrategy = attrs.field(converter=_strategy)
    deadline: float | None = attrs.field(default=None, validator=_positive_or_none)
    request_timeout: float | None = attrs.field(
        default=60.0, validator=_positive_or_none
    )
    max_in_flight: int | None = attrs.field(
        default=1000, validator=_positive_int_or_none
    )
    rate: RateLimit | None = None
    backoff: Backoff = attrs.Factory(Backoff)
    progress: bool | None = None
    seed: int | None = None
    report: Report | None = attrs.field(init=False, default=None)
    """The report of the latest run that finished."""

    @asynccontextmanager
    async def stream(
        self, requests: Iterable[Any] | AsyncIterable[Any]
    ) -> AsyncIterator[MemoryObjectReceiveStream[Outcome]]:
        """Submit `requests` and yield each job's outcome as soon as it is known.

        Use as `async with poller.stream(requests) as outcomes: async for ...`.
        `requests` is read lazily, so a generator of a million requests is fine.
        """
        async with self._open(requests, attach=False) as outcomes:
            yield outcomes

    @asynccontextmanager
    async def stream_jobs(
        self, job_ids: Iterable[JobId] | AsyncIterable[JobId]
    ) -> AsyncIterator[MemoryObjectReceiveStream[Outcome]]:
        """Like `stream`, for jobs already submitted: poll these ids."""
        async with self._open(job_ids, attach=True) as outcomes:
            yield outcomes

    async def collect(
        self, requests: Iterable[Any] | AsyncIterable[Any]
    ) -> list[Outcome]:
        """Submit `requests` and return every outcome, in input order."""
        async with self.stream(requests) as outcomes:
            return _in_input_order([outcome async for outcome in outcomes])

    async def collect_jobs(
        self, job_ids: Iterable[JobId] | AsyncIterable[JobId]
    ) -> list[Outcome]:
        """Poll jobs already submitted and return their outcomes, in input order."""
        async with self.stream_jobs(job_ids) as outcomes:
            return _in_input_order([outcome async for outcome in outcomes])

    def collect_sync(
        self, requests: Iterable[Any], *, backend: str = "asyncio"
    ) -> list[Outcome]:
        """`collect` for scripts and notebooks: runs its own event loop."""
        return anyio.run(self.collect, requests, backend=backend)

    @asynccontextmanager
    async def _open(
        self, items: Iterable[Any] | AsyncIterable[Any], *, attach: bool
    ) -> AsyncIterator[MemoryObjectReceiveStream[Outcome]]:
        items = _iterable(items)
        send, receive = anyio.create_memory_object_stream[Outcome](math.inf)
        run = _Run(self, send)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(run.run, items, attach)
                with receive:
                    yield receive
                    # The caller stopped reading early: end the run with it.
                    group.cancel_scope.cancel()
        except BaseExceptionGroup as group_error:
            raise _sole_polling_error(group_error) from None
        self.report = run.report()


def _in_input_order(outcomes: list[Outcome]) -> list[Outcome]:
    return sorted(outcomes, key=lambda outcome: outcome.index)


def _sole_polling_error(group: BaseExceptionGroup) -> BaseException:
    """Unwrap a task group's error so that callers catch `AuthError`, not a group."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    polling_errors = [e for e in leaves if isinstance(e, PollingError)]
    # Workers in flight together often meet the same error (a revoked key fails
    # every request): one error of one kind, however many times it was raised.
    if polling_errors and len({type(e) for e in polling_errors}) == 1:
        return polling_errors[0]
    return group


class _Source:
    """The caller's requests, numbered and read lazily, a few at a time.

    A plain iterable is read as submitters need it. An async iterable (requests
    that arrive over time) is read by a task into a small buffer, so that a batch
    takes what has arrived instead of waiting for a full one.
    """

    def __init__(self, items: Iterable[Any] | AsyncIterable[Any]) -> None:
        self.count = 0
        self._plain: Iterator[Any] | None = None
        self._async: AsyncIterable[Any] | None = None
        if isinstance(items, AsyncIterable):
            self._async = items
        else:
            self._plain = iter(items)
        send, self._arrived = anyio.create_memory_object_stream[Any](_ARRIVAL_BUFFER)
        self._taking = anyio.Lock()
        self._arrive = send

    async def read_arrivals(self) -> None:
        """Move an async iterable's requests into the buffer as they come."""
        async with self._arrive:
            if self._async is not None:
                async for item in self._async:
                    await self._arrive.send(item)

    async def take(self, most: int) -> list[tuple[int, Any]]:
        """Up to `most` requests with their input positions; empty at the end."""
        if self._plain is not None:
            items = list(itertools.islice(self._plain, most))
        else:
            async with self._taking:
                items = await self._take_arrived(most)
        first = self.count
        self.count += len(items)
        return list(enumerate(items, start=first))

    async def _take_arrived(self, most: int) -> list[Any]:
        """The next arrival, and for a batch, those that come within a linger.

        Requests that trickle in one at a time would otherwise go one per batch.
        """
        try:
            items = [await self._arrived.receive()]
        except anyio.EndOfStream:
            return []
        with anyio.move_on_after(_SUBMIT_LINGER if most > 1 else 0):
            while len(items) < most:
                try:
                    items.append(await self._arrived.receive())
                except anyio.EndOfStream:
                    break
        return items

    def rest(self) -> Iterator[tuple[int, Any]]:
        """What was never taken: the rest of a plain iterable, or of the buffer."""
        if self._plain is not None:
            left = self._plain
        else:
            left = iter(self._drain_buffer())
        for item in left:
            yield self.count, item
            self.count += 1

    def close(self) -> None:
        """Close the buffer, once the run is over."""
        self._arrive.close()
        self._arrived.close()

    def _drain_buffer(self) -> list[Any]:
        items = []
        while True:
            try:
                items.append(self._arrived.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return items


class _Run:
    """The state of one run; lives as long as `Poller.stream`."""

    def __init__(self, poller: Poller, outcomes: MemoryObjectSendStream[Outcome]):
        self.poller = poller
        self.api = poller.api
        self.strategy = poller.strategy
        self.outcomes = outcomes
        caps = self.api.capabilities
        self.board = Board(capabilities=caps)
        limit = _tighter(
            poller.max_in_flight, getattr(self.strategy, "max_in_flight", None)
        )
        self.limit = limit
        self.budget = Budget(
            max_in_flight=limit,
            rate=poller.rate or _paced(caps.rate_limit),
            backoff=poller.backoff,
            rng=random.Random(poller.seed),
        )
        if hasattr(self.api, "on_cool_down"):
            # An API that reads rate-limit headers tells the budget of a spent
            # quota, so that every request waits, not only the next refused one.
            self.api.on_cool_down = self.budget.cool_down
        self.key_rng = random.Random(poller.seed)
        self.events_in, self.events = anyio.create_memory_object_stream[_Event](
            math.inf
        )
        self.work: deque[Check] = deque()
        self.idle: list[anyio.Event] = []
        self.workers = 0
        self.given = 0
        self.ended: Counter[OutcomeKind] = Counter()
        self.delays = array("d")
        self.started = anyio.current_time()
        self.finished = self.started
        self.submits_open: set[int] = set()
        self.submit_calls = 0
        self.unanswered_submits: set[int] = set()
        self.early = _EarlyStates()
        self.feed_since: float | None = None
        self.progress = _Progress(False, None)

    async def run(
        self, items: Iterable[Any] | AsyncIterable[Any], attach: bool
    ) -> None:
        """Submit and poll until every job has its outcome or the deadline passes."""
        try:
            with anyio.fail_after(self.poller.deadline or math.inf):
                await self._connect()
        except TimeoutError:
            raise DeadlineExceeded(
                "the deadline passed before the job API could be reached"
            ) from None
        source = _Source(items)
        if not attach:
            self.feed_since = self.api.clock() - _FEED_SKEW
        total = len(items) if isinstance(items, Sized) else None
        self.progress = _Progress(self.poller.progress, total)
        poll = self.strategy.start(self.board)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(source.read_arrivals)
                group.start_soon(self._feed_jobs, source, attach)
                with anyio.move_on_after(self.poller.deadline or math.inf):
                    await self._loop(poll, group)
                group.cancel_scope.cancel()
            self._apply_queued(poll)
            self._time_out_the_rest(source)
        finally:
            self.finished = anyio.current_time()
            self.progress.close()
            self.outcomes.close()
            self.events_in.close()
            self.events.close()
            source.close()
        log.info(
            "run finished: %d jobs in %.2fs, %d requests",
            self.given,
            self.finished - self.started,
            sum(self.budget.sent.values()),
        )

    async def _connect(self) -> None:
        """Let an API that learns its capabilities first (from a capability
        document, say) do so, then plan and pace by what it declares."""
        connect = getattr(self.api, "connect", None)
        if connect is None:
            return
        backoff = self.poller.backoff
        for attempt in range(backoff.attempts):
            try:
                await connect()
                break
            except TransientError as error:
                if attempt + 1 == backoff.attempts:
                    raise
                delay = backoff.delay(attempt, self.budget.rng)
                log.warning("connecting failed (%s); again in %.2fs", error, delay)
                await anyio.sleep(delay)
        capabilities = self.api.capabilities
        self.board.capabilities = capabilities
        if self.poller.rate is None:
            self.budget.rate = _paced(capabilities.rate_limit)

    def report(self) -> Report:
        """The report of this run."""
        return Report(
            requests=dict(self.budget.sent),
            retries=self.budget.retries,
            rejected=self.budget.rejected,
            outcomes=dict(self.ended),
            delay=DelaySummary.of(self.delays),
            wall_time=self.finished - self.started,
        )

    async def _loop(self, poll: Poll, group: TaskGroup) -> None:
        board = self.board
        while board.submitting or board.pending:
            board.now = anyio.current_time()
            board.server_now = self.api.clock()
            board.retry_at = self.budget.resume_at
            decision = poll.decide(board)
            for check in decision.checks:
                self._dispatch(check, group)
            asleep = decision.wake_at is None
            stalled = asleep and not (board.in_flight or board.submitting)
            if stalled:
                raise ConfigError(
                    f"strategy {self.strategy!r} sent nothing and set no time "
                    "to be asked again: the run would never end"
                )
            with anyio.move_on_after(
                math.inf if decision.wake_at is None else decision.wake_at - board.now
            ):
                event = await self.events.receive()
                # Observers read the board's clock too: the time of this wake,
                # not of the decision before it.
                board.now = anyio.current_time()
                board.server_now = self.api.clock()
                self._apply(event, poll)
                while True:
                    try:
                        event = self.events.receive_nowait()
                    except anyio.WouldBlock:
                        break
                    self._apply(event, poll)

    def _apply_queued(self, poll: Poll) -> None:
        """Apply the events a deadline left unread, so that no job goes missing.

        A submit answered at the very instant of the deadline has left the set of
        open submits, but its job is still on its way to the board.
        """
        while True:
            try:
                event = self.events.receive_nowait()
            except anyio.WouldBlock:
                return
            self._apply(event, poll)

    def _dispatch(self, check: Check, group: TaskGroup) -> None:
        for job_id in check.job_ids:
            tracked = self.board.pending.get(job_id)
            if tracked is not None:
                tracked.in_flight += 1
        self.board.in_flight += 1
        self.work.append(check)
        if self.idle:
            self.idle.pop().set()
        elif self.limit is None or self.workers < self.limit:
            self.workers += 1
            group.start_soon(self._work)

    async def _work(self) -> None:
        """Send checks from the queue, one at a time, for as long as the run lasts.

        A worker with nothing to do parks on an event of its own, and a dispatch
        wakes exactly one: cheaper than a channel, which would yield to the
        scheduler on every item.
        """
        while True:
            if not self.work:
                wake = anyio.Event()
                self.idle.append(wake)
                await wake.wait()
                continue
            check = self.work.popleft()
            reply = await self._perform(check)
            self.events_in.send_nowait(reply)

    async def _perform(self, check: Check) -> Reply:
        sent_at = anyio.current_time()
        try:
            states, cursor = await self._ask(check)
        except AuthError:
            raise
        except (RequestError, PollingError) as error:
            log.debug("%s failed: %s", check.kind.value, error)
            return Reply(check, sent_at, anyio.current_time(), error=error)
        return Reply(check, sent_at, anyio.current_time(), states, cursor)

    async def _ask(self, check: Check) -> tuple[dict[JobId, JobState], str | None]:
        api, ids, kind = self.api, check.job_ids, check.kind
        caps = self.board.capabilities
        hold = check.wait or 0.0
        if kind is RequestKind.FEED:
            hold = check.wait or caps.feed_wait or 0.0

        def call(send: Callable[[], Awaitable[T]]) -> Awaitable[T]:
            return self.budget.call(kind, send, timeout=self._timeout(hold))

        if kind is RequestKind.GET:
            return {ids[0]: await call(lambda: api.get(ids[0]))}, None
        if kind is RequestKind.BATCH_STATUS:
            return await call(lambda: api.status_many(ids)), None
        if kind is RequestKind.WAIT:
            return await call(lambda: api.status_many(ids, wait=check.wait)), None
        if kind is RequestKind.BATCH_RESULTS:
            return await call(lambda: api.results_many(ids)), None
        limit = caps.feed or 1
        since = self.feed_since if check.cursor is None else None
        page = await call(
            lambda: api.feed(check.cursor, limit=limit, wait=hold, since=since)
        )
        return {state.job_id: state for state in page.jobs}, page.cursor

    def _timeout(self, hold: float = 0.0) -> float | None:
        """How long a request may take: the poller's timeout, plus any hold."""
        timeout = self.poller.request_timeout
        return None if timeout is None else timeout + hold

    def _apply(self, event: _Event, poll: Poll) -> None:
        if isinstance(event, Reply):
            self._apply_reply(event)
        elif isinstance(event, _Created):
            now = anyio.current_time()
            pending = self.board.pending
            for index, job_id in zip(event.indices, event.job_ids, strict=True):
                pending[job_id] = Tracked(job_id, index, now)
            self.given += len(event.job_ids)
            self.progress.submitted(len(event.job_ids))
            poll.observe(Submitted(event.job_ids), self.board)
            self._note_early(event.job_ids)
            return
        elif isinstance(event, _Done):
            self.given += 1
            self._emit(event.outcome)
            return
        elif isinstance(event, _SubmitAnswered):
            self.unanswered_submits.discard(event.number)
            self.early.forget_before(min(self.unanswered_submits, default=math.inf))
            return
        else:
            self.board.submitting = False
            return
        poll.observe(event, self.board)

    def _apply_reply(self, reply: Reply) -> None:
        board = self.board
        board.in_flight -= 1
        for job_id in reply.check.job_ids:
            tracked = board.pending.get(job_id)
            if tracked is not None:
                tracked.in_flight -= 1
        if isinstance(reply.error, CapabilityMissing):
            self._learn_missing(reply.check.kind)
        if isinstance(reply.error, ProtocolError):
            self._fail_covered(reply, "answer could not be read", reply.error)
        if isinstance(reply.error, RejectedError):
            self._fail_covered(reply, "was refused", reply.error)
        if reply.error is not None:
            return
        for job_id, state in reply.states.items():
            tracked = board.pending.get(job_id)
            if tracked is not None:
                self._note(tracked, state, reply.received_at)
            elif reply.check.kind is RequestKind.FEED and self.unanswered_submits:
                self.early.keep(job_id, state, reply.received_at, self.submit_calls)
        if reply.check.kind is not RequestKind.FEED:
            self._fail_the_left_out(reply)

    def _note_early(self, job_ids: Sequence[JobId]) -> None:
        """Apply what the feed said of new jobs before their submit returned."""
        for job_id in job_ids:
            early = self.early.take(job_id)
            tracked = self.board.pending.get(job_id)
            if early is not None and tracked is not None:
                self._note(tracked, *early)

    def _learn_missing(self, kind: RequestKind) -> None:
        caps = self.board.capabilities
        if caps.has(kind):
            log.warning(
                "the job API has no %s requests; falling back without them",
                kind.value,
            )
            self.board.capabilities = caps.without(kind)

    def _note(self, tracked: Tracked, state: JobState, received_at: float) -> None:
        tracked.last_checked = received_at
        tracked.checks += 1
        tracked.status = state.status
        tracked.started_at = state.started_at or tracked.started_at
        tracked.completed_at = state.completed_at or tracked.completed_at
        if not state.status.is_terminal:
            return
        if state.status is JobStatus.COMPLETED and not state.has_result:
            return
        self._resolve(tracked, state)

    def _fail_covered(self, reply: Reply, what: str, error: PollingError) -> None:
        """An answer this client cannot read, or a refusal, fails the jobs it was
        about.

        Asking again would get the same answer: an unknown status is an error,
        never taken for "still pending", and a request the API refuses as
        malformed (400, 422) would be refused again until the deadline.
        """
        message = f"the {reply.check.kind.value} {what}: {error}"
        for job_id in reply.check.job_ids:
            tracked = self.board.pending.get(job_id)
            if tracked is not None:
                log.warning("job %s: %s", job_id, message)
                self._end(tracked, OutcomeKind.FAILED, error=message)

    def _fail_the_left_out(self, reply: Reply) -> None:
        """A reply that leaves out a job it was asked about fails that job.

        Waiting on would never end: the same question would get the same answer.
        """
        for job_id in reply.check.job_ids:
            if job_id in reply.states or job_id not in self.board.pending:
                continue
            tracked = self.board.pending[job_id]
            message = f"the {reply.check.kind.value} reply left out job {job_id}"
            log.warning("%s", message)
            self._end(tracked, OutcomeKind.FAILED, error=message)

    def _resolve(self, tracked: Tracked, state: JobState) -> None:
        kind = outcome_kind_of(state.status)
        if state.completed_at is not None:
            self.delays.append(max(0.0, self.api.clock() - state.completed_at))
        self._end(
            tracked,
            kind,
            result=state.result,
            error=state.error,
            completed_at=state.completed_at,
        )

    def _end(
        self,
        tracked: Tracked,
        kind: OutcomeKind,
        *,
        result: Any = None,
        error: str | None = None,
        completed_at: float | None = None,
    ) -> None:
        del self.board.pending[tracked.job_id]
        outcome = Outcome(
            tracked.index, tracked.job_id, kind, result, error, completed_at
        )
        self._emit(outcome)

    def _emit(self, outcome: Outcome) -> None:
        self.ended[outcome.kind] += 1
        self.progress.collected()
        self.outcomes.send_nowait(outcome)

    def _time_out_the_rest(self, source: _Source) -> None:
        """End every job without an outcome as timed out, submitted or not."""
        cut_off = list(self.board.pending.values())
        for tracked in cut_off:
            self._end(tracked, OutcomeKind.TIMED_OUT, error="the deadline passed")
        for index in sorted(self.submits_open):
            self._emit(
                Outcome(
                    index,
                    None,
                    OutcomeKind.TIMED_OUT,
                    error="the deadline passed before the submit was answered",
                )
            )
        for index, _ in source.rest():
            self._emit(
                Outcome(
                    index,
                    None,
                    OutcomeKind.TIMED_OUT,
                    error="the deadline passed before the job was submitted",
                )
            )
        if cut_off:
            log.warning(
                "deadline passed: %d jobs timed out, first %s",
                len(cut_off),
                cut_off[0].job_id,
            )

    async def _feed_jobs(self, source: _Source, attach: bool) -> None:
        if attach:
            while taken := await source.take(_ARRIVAL_BUFFER):
                indices = tuple(index for index, _ in taken)
                job_ids = tuple(JobId(job_id) for _, job_id in taken)
                self.events_in.send_nowait(_Created(indices, job_ids))
        else:
            await self._submit_all(source)
        self.events_in.send_nowait(_SubmitFinished())

    async def _submit_all(self, source: _Source) -> None:
        batch = getattr(self.strategy, "submit_batch", True)
        async with anyio.create_task_group() as group:
            if batch and self.board.capabilities.batch_submit:
                for _ in range(_BATCH_SUBMITTERS):
                    group.start_soon(self._submit_batches, source)
            else:
                for _ in range(self._single_submitters()):
                    group.start_soon(self._submit_singly, source)

    def _single_submitters(self) -> int:
        """How many single submits go at once.

        Under a rate, a submit waiting for its turn holds back every check that
        comes after it: keep no more waiting than a tenth of a second's worth.
        """
        default = self.limit or _UNLIMITED_SUBMITTERS
        count: int = getattr(self.strategy, "submit_concurrency", default)
        rate = self.budget.rate
        if rate is not None:
            count = min(count, max(4, math.ceil(rate.per_second * _SUBMIT_QUEUE)))
        return count

    async def _submit_batches(self, source: _Source) -> None:
        while size := self.board.capabilities.batch_submit:
            chunk = await source.take(size)
            if not chunk:
                return
            indices = [index for index, _ in chunk]
            self.submits_open.update(indices)
            try:
                with self._submit_call():
                    await self._submit_chunk(chunk)
            except CapabilityMissing:
                self._learn_missing(RequestKind.BATCH_SUBMIT)
                for item in chunk:
                    with self._submit_call():
                        await self._submit_one(*item)
            self.submits_open.difference_update(indices)
        await self._submit_singly(source)

    async def _submit_chunk(self, chunk: Sequence[tuple[int, Any]]) -> None:
        keys = [self._idempotency_key() for _ in chunk]
        await self._submit_keyed(list(zip(chunk, keys, strict=True)))

    async def _submit_keyed(
        self, chunk: Sequence[tuple[tuple[int, Any], str | None]]
    ) -> None:
        """Submit a batch; if the API refuses it, find the requests it refuses.

        One bad request in a thousand must not fail the other 999: a refused
        batch is split in halves, each sent again, until the refused requests
        stand alone. The API stored nothing of a refused batch, and each request
        keeps its idempotency key.
        """
        requests = [request for (_, request), _ in chunk]
        keys = [key for _, key in chunk]
        try:
            job_ids = await self.budget.call(
                RequestKind.BATCH_SUBMIT,
                lambda: self.api.submit_many(requests, idempotency_keys=keys),
                retry_sent=self.board.capabilities.idempotent_submit,
                timeout=self._timeout(),
            )
        except (CapabilityMissing, AuthError):
            raise
        except RejectedError as error:
            if len(chunk) == 1:
                self._submit_failed(chunk[0][0][0], error)
                return
            log.debug("batch of %d refused, halving: %s", len(chunk), error)
            half = len(chunk) // 2
            await self._submit_keyed(chunk[:half])
            await self._submit_keyed(chunk[half:])
            return
        except RequestError as error:
            for (index, _), _ in chunk:
                self._submit_failed(index, error)
            return
        indices = tuple(index for (index, _), _ in chunk)
        if len(job_ids) != len(chunk):
            # The jobs exist, but which id is whose cannot be known.
            message = f"batch submit of {len(chunk)} returned {len(job_ids)} ids"
            for index in indices:
                self._submit_failed(index, TransientError(message, sent=True))
            return
        self.events_in.send_nowait(_Created(indices, tuple(job_ids)))

    async def _submit_singly(self, source: _Source) -> None:
        while taken := await source.take(1):
            [(index, request)] = taken
            self.submits_open.add(index)
            with self._submit_call():
                await self._submit_one(index, request)
            self.submits_open.discard(index)

    async def _submit_one(self, index: int, request: Any) -> None:
        key = self._idempotency_key()
        try:
            job_id = await self.budget.call(
                RequestKind.SUBMIT,
                lambda: self.api.submit(request, idempotency_key=key),
                retry_sent=key is not None,
                timeout=self._timeout(),
            )
        except AuthError:
            raise
        except RequestError as error:
            self._submit_failed(index, error)
            return
        self.events_in.send_nowait(_Created((index,), (job_id,)))

    @contextmanager
    def _submit_call(self) -> Iterator[None]:
        """Number a submit request, and tell the loop once its answer is in.

        The jobs of a submit can finish, and be on the feed, before the answer
        that names them comes back. The loop keeps such early news while a submit
        that could explain it is unanswered, and no longer.
        """
        self.submit_calls += 1
        number = self.submit_calls
        self.unanswered_submits.add(number)
        try:
            yield
        finally:
            self.events_in.send_nowait(_SubmitAnswered(number))

    def _submit_failed(self, index: int, error: RequestError) -> None:
        # A transient failure after the request went out may have created the job:
        # without an idempotency key there is no safe retry, and no way to know.
        unsure = isinstance(error, TransientError) and error.sent
        kind = OutcomeKind.UNKNOWN if unsure else OutcomeKind.FAILED
        log.warning("submit of job %d failed (%s): %s", index, kind.value, error)
        self.events_in.send_nowait(_Done(Outcome(index, None, kind, error=str(error))))

    def _idempotency_key(self) -> str | None:
        if not self.board.capabilities.idempotent_submit:
            return None
        return str(uuid.UUID(int=self.key_rng.getrandbits(128), version=4))


def _tighter(first: int | None, second: int | None) -> int | None:
    """The stricter of two in-flight limits, None meaning none."""
    if first is None or second is None:
        return second if first is None else first
    return min(first, second)


def _paced(declared: RateLimit | None) -> RateLimit | None:
    """Keep a margin under a declared limit: the server's clock is not ours."""
    if declared is None:
        return None
    return RateLimit(
        per_second=declared.per_second * _RATE_MARGIN,
        burst=max(1, declared.burst // 2),
    )


class _EarlyStates:
    """States the feed gave for jobs whose submit had not returned yet.

    Each is kept with the number of the last submit sent before it came: once
    every submit up to that one is answered, a job it names that is still unknown
    is not this run's, and is forgotten.
    """

    def __init__(self) -> None:
        self.states: dict[JobId, tuple[JobState, float]] = {}
        self.order: deque[tuple[int, JobId]] = deque()

    def keep(
        self, job_id: JobId, state: JobState, received_at: float, last_submit: int
    ) -> None:
        self.states[job_id] = (state, received_at)
        self.order.append((last_submit, job_id))

    def take(self, job_id: JobId) -> tuple[JobState, float] | None:
        return self.states.pop(job_id, None)

    def forget_before(self, oldest_unanswered: float) -> None:
        while self.order and self.order[0][0] < oldest_unanswered:
            _, job_id = self.order.popleft()
            self.states.pop(job_id, None)


class _Progress:
    """Two tqdm bars, submit and collect; does nothing when turned off."""

    def __init__(self, wanted: bool | None, total: int | None) -> None:
        enabled = sys.stderr.isatty() if wanted is None else wanted
        self._bars: list[tqdm[Any]] = []
        if enabled:
            self._submit = tqdm(desc="submit", unit="job", total=total, position=0)
            self._collect = tqdm(desc="collect", unit="job", total=total, position=1)
            self._bars = [self._submit, self._collect]

    def submitted(self, count: int) -> None:
        if self._bars:
            self._submit.update(count)

    def collected(self) -> None:
        if self._bars:
            self._collect.update(1)

    def close(self) -> None:
        for bar in self._bars:
            bar.close()
