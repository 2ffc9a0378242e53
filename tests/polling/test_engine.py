"""The poller engine on the simulated store, in virtual time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import pytest

from polling import (
    AuthError,
    Backoff,
    Board,
    Capabilities,
    Check,
    ConfigError,
    Decision,
    JobId,
    JobState,
    Observation,
    Outcome,
    OutcomeKind,
    Poll,
    Poller,
    RateLimit,
    Reply,
    RequestKind,
)
from polling.testing import (
    Faults,
    SimulatedJobStore,
    check_no_duplicates,
    check_outcomes,
    run_in_virtual_time,
    run_virtual,
)
from strategies import Naive, PerJobBackoff


def _store(durations: Sequence[float], **options: Any) -> SimulatedJobStore:
    return SimulatedJobStore(duration_of=list(durations).__getitem__, **options)


def _kinds(outcomes: Sequence[Outcome]) -> list[OutcomeKind]:
    return [outcome.kind for outcome in outcomes]


class _Stubborn:
    """A strategy that never checks anything and never asks to be woken."""

    def start(self, board: Board) -> Poll:
        return self

    def decide(self, board: Board) -> Decision:
        return Decision()

    def observe(self, event: Observation, board: Board) -> None:
        pass


class _BatchThenSingle:
    """Batch status and results while the API has them, else gets; one at a time."""

    def start(self, board: Board) -> Poll:
        return self

    def decide(self, board: Board) -> Decision:
        if board.in_flight:
            return Decision(wake_at=board.now + 1.0)
        ids = tuple(board.pending)
        if not ids:
            return Decision(wake_at=board.now + 1.0)
        caps = board.capabilities
        if caps.has(RequestKind.BATCH_STATUS) and caps.has(RequestKind.BATCH_RESULTS):
            done = tuple(i for i in ids if board.pending[i].awaits_result)
            if done:
                return Decision([Check(RequestKind.BATCH_RESULTS, done)])
            return Decision([Check(RequestKind.BATCH_STATUS, ids)])
        return Decision(
            [Check(RequestKind.GET, (job_id,)) for job_id in ids],
            wake_at=board.now + 1.0,
        )

    def observe(self, event: Observation, board: Board) -> None:
        pass


def test_every_job_completes_with_its_own_result() -> None:
    """A run without faults completes every job with the result of its request."""
    store = _store([3.0, 1.0, 2.0, 0.0])
    outcomes = run_in_virtual_time(Poller(store, Naive(), progress=False), range(4))
    check_outcomes(outcomes, range(4))
    assert _kinds(outcomes) == [OutcomeKind.COMPLETED] * 4


def test_collect_returns_outcomes_in_input_order() -> None:
    """`collect` orders outcomes by input position, not by completion."""
    store = _store([4.0, 3.0, 2.0, 1.0])
    outcomes = run_in_virtual_time(Poller(store, Naive(), progress=False), range(4))
    assert [outcome.index for outcome in outcomes] == [0, 1, 2, 3]


def test_stream_yields_outcomes_in_order_of_completion() -> None:
    """`stream` hands each outcome over as soon as its job is seen finished."""
    store = _store([5.0, 1.0, 3.0])
    poller = Poller(store, Naive(interval=1.0), progress=False)

    async def arrivals() -> list[int]:
        async with poller.stream(range(3)) as outcomes:
            return [outcome.index async for outcome in outcomes]

    assert run_virtual(arrivals) == [1, 2, 0]


def test_failed_job_ends_failed_with_the_server_error() -> None:
    """A job the API reports failed ends `failed`, carrying the API's error."""
    store = SimulatedJobStore(fails_of=lambda request: request == 1)
    outcomes = run_in_virtual_time(Poller(store, Naive(), progress=False), range(2))
    assert _kinds(outcomes) == [OutcomeKind.COMPLETED, OutcomeKind.FAILED]
    assert outcomes[1].error == "the job failed"


def test_job_read_after_retention_ends_expired() -> None:
    """A job whose result expired before it was checked ends `expired`."""
    store = SimulatedJobStore(retention=5.0)
    strategy = PerJobBackoff(initial=100.0)
    outcomes = run_in_virtual_time(Poller(store, strategy, progress=False), [0])
    assert _kinds(outcomes) == [OutcomeKind.EXPIRED]


def test_unknown_job_id_ends_not_found() -> None:
    """Polling an id the API never issued ends that job `not_found`."""
    poller = Poller(SimulatedJobStore(), Naive(), progress=False)
    outcomes = run_virtual(poller.collect_jobs, [JobId("no-such-job")])
    assert _kinds(outcomes) == [OutcomeKind.NOT_FOUND]


def test_collect_jobs_polls_jobs_submitted_elsewhere() -> None:
    """`collect_jobs` polls existing ids and submits nothing."""
    store = _store([1.0, 2.0])

    async def scenario() -> list[Outcome]:
        ids = [await store.submit(n, idempotency_key=None) for n in range(2)]
        return await Poller(store, Naive(), progress=False).collect_jobs(ids)

    outcomes = run_virtual(scenario)
    assert [outcome.result for outcome in outcomes] == [0, 1]
    assert store.requests[RequestKind.SUBMIT] == 2


def test_requests_from_an_async_iterable_are_submitted_as_they_arrive() -> None:
    """Requests that trickle in are each submitted soon after they arrive."""
    store = SimulatedJobStore(api="sdk-only", record_checks=True)

    async def trickle() -> AsyncIterator[int]:
        for n in range(3):
            await anyio.sleep(10.0)
            yield n

    poller = Poller(store, Naive(), progress=False)
    outcomes = run_in_virtual_time(poller, trickle())
    check_outcomes(outcomes, range(3))
    submitted = [store.submission_time(JobId(f"job-{n:08d}")) for n in range(3)]
    assert submitted == pytest.approx([10.02, 20.02, 30.02])


def test_empty_job_list_returns_an_empty_result_at_once() -> None:
    """No jobs: no outcomes, no requests, and no virtual time passes."""
    store = SimulatedJobStore()
    poller = Poller(store, Naive(), progress=False)
    assert run_in_virtual_time(poller, []) == []
    assert poller.report is not None
    assert poller.report.wall_time == 0.0
    assert sum(store.requests.values()) == 0


def test_deadline_ends_the_run_at_the_exact_virtual_time() -> None:
    """With jobs still running, the run ends exactly when the deadline passes."""
    store = _store([100.0] * 3)
    poller = Poller(store, Naive(), deadline=7.5, progress=False)
    outcomes = run_in_virtual_time(poller, range(3))
    assert poller.report is not None
    assert poller.report.wall_time == 7.5
    assert _kinds(outcomes) == [OutcomeKind.TIMED_OUT] * 3


def test_deadline_times_out_jobs_never_submitted() -> None:
    """Jobs still waiting to be submitted at the deadline end `timed_out`, no id."""
    store = _store([100.0] * 10, api="sdk-only")
    poller = Poller(
        store,
        PerJobBackoff(initial=100.0),
        deadline=3.5,
        rate=RateLimit(per_second=1.0),
        progress=False,
    )
    outcomes = run_in_virtual_time(poller, range(10))
    check_outcomes(outcomes, range(10))
    assert _kinds(outcomes) == [OutcomeKind.TIMED_OUT] * 10
    never = [outcome for outcome in outcomes if outcome.job_id is None]
    assert len(never) == 6
    assert store.job_count() == 4


@pytest.mark.parametrize("seed", range(8))
def test_submit_answered_at_the_deadline_instant_still_gets_an_outcome(
    seed: int,
) -> None:
    """A job whose submit is answered exactly at the deadline is not lost."""
    store = _store([100.0], api="sdk-only", round_trip=1.0)
    poller = Poller(store, PerJobBackoff(), deadline=1.0, progress=False)
    outcomes = run_in_virtual_time(poller, [0], seed=seed)
    assert _kinds(outcomes) == [OutcomeKind.TIMED_OUT]


def test_lost_submit_without_idempotency_ends_unknown_and_is_not_resent() -> None:
    """On an API without idempotency keys, a lost answer is never blindly retried."""
    store = SimulatedJobStore(api="sdk-only", faults=Faults(lost_response=1.0))
    outcomes = run_in_virtual_time(Poller(store, Naive(), progress=False), range(5))
    assert _kinds(outcomes) == [OutcomeKind.UNKNOWN] * 5
    assert [outcome.job_id for outcome in outcomes] == [None] * 5
    assert store.requests[RequestKind.SUBMIT] == 5
    check_no_duplicates(store)


def test_lost_submit_with_idempotency_keys_is_retried_into_one_job() -> None:
    """With idempotency keys, a submit whose answer was lost is retried safely."""
    store = SimulatedJobStore(faults=Faults(lost_response=0.5), seed=3)
    poller = Poller(store, Naive(), progress=False, seed=3)
    outcomes = run_in_virtual_time(poller, range(20))
    check_outcomes(outcomes, range(20))
    check_no_duplicates(store)
    assert _kinds(outcomes) == [OutcomeKind.COMPLETED] * 20
    assert store.requests[RequestKind.SUBMIT] > 20


def test_lost_batch_submit_is_retried_into_one_job_each() -> None:
    """A batch submit whose answer was lost is retried with the same keys."""
    store = SimulatedJobStore(faults=Faults(lost_response=0.5), seed=1)
    strategy = _BatchThenSingle()
    outcomes = run_in_virtual_time(Poller(store, strategy, progress=False), range(9))
    check_outcomes(outcomes, range(9))
    check_no_duplicates(store)
    assert store.requests[RequestKind.BATCH_SUBMIT] > 1


def test_submit_that_never_left_is_retried_without_a_key() -> None:
    """A connect error cannot have created a job, so even a plain submit retries."""
    store = SimulatedJobStore(api="sdk-only", faults=Faults(transport_error=0.5))
    outcomes = run_in_virtual_time(Poller(store, Naive(), progress=False), range(10))
    assert _kinds(outcomes) == [OutcomeKind.COMPLETED] * 10
    check_no_duplicates(store)


def test_server_error_on_plain_submit_ends_unknown() -> None:
    """A 503 to a submit without a key may hide a created job: it ends `unknown`."""
    store = SimulatedJobStore(api="sdk-only", faults=Faults(server_error=1.0))
    outcomes = run_in_virtual_time(Poller(store, Naive(), progress=False), range(3))
    assert _kinds(outcomes) == [OutcomeKind.UNKNOWN] * 3
    assert store.requests[RequestKind.SUBMIT] == 3


def test_missing_capability_is_asked_for_once_then_avoided() -> None:
    """A declared batch status that answers 404 is dropped after its first use."""
    store = SimulatedJobStore(
        api="sdk-only", declared=Capabilities(batch_status=100, batch_results=100)
    )
    strategy = _BatchThenSingle()
    outcomes = run_in_virtual_time(Poller(store, strategy, progress=False), range(5))
    check_outcomes(outcomes, range(5))
    assert store.requests[RequestKind.BATCH_STATUS] == 1
    assert store.requests[RequestKind.GET] >= 5


def test_missing_batch_submit_falls_back_to_single_submits() -> None:
    """A declared batch submit that answers 404 falls back to one job a request."""
    store = SimulatedJobStore(api="sdk-only", declared=Capabilities(batch_submit=2))
    strategy = _BatchThenSingle()
    outcomes = run_in_virtual_time(Poller(store, strategy, progress=False), range(9))
    check_outcomes(outcomes, range(9))
    check_no_duplicates(store)
    assert store.requests[RequestKind.SUBMIT] == 9
    assert 1 <= store.requests[RequestKind.BATCH_SUBMIT] <= 4


def test_refused_batch_submit_is_halved_until_accepted() -> None:
    """A batch the API refuses (over its true limit) is split and sent again."""
    store = SimulatedJobStore(
        batch_limit=2, declared=Capabilities(batch_submit=3, batch_status=2)
    )
    strategy = _BatchThenSingle()
    outcomes = run_in_virtual_time(Poller(store, strategy, progress=False), range(3))
    assert _kinds(outcomes) == [OutcomeKind.COMPLETED] * 3
    assert store.requests[RequestKind.BATCH_SUBMIT] == 3
    check_no_duplicates(store)


class _ShortChanged(SimulatedJobStore):
    """A store whose batch submit returns one id too few."""

    async def submit_many(
        self, requests: Sequence[Any], *, idempotency_keys: Sequence[str | None]
    ) -> list[JobId]:
        ids = await super().submit_many(requests, idempotency_keys=idempotency_keys)
        return ids[:-1]


def test_batch_submit_with_too_few_ids_ends_its_jobs_unknown() -> None:
    """When ids cannot be matched to requests, each job of the batch is unknown."""
    strategy = _BatchThenSingle()
    poller = Poller(_ShortChanged(), strategy, progress=False)
    outcomes = run_in_virtual_time(poller, range(3))
    assert _kinds(outcomes) == [OutcomeKind.UNKNOWN] * 3
    assert "batch submit of 3 returned 2 ids" in (outcomes[0].error or "")


class _Forgetful(SimulatedJobStore):
    """A store whose batch status always leaves out its first job."""

    async def status_many(
        self, job_ids: Sequence[JobId], *, wait: float | None = None
    ) -> dict[JobId, JobState]:
        states = await super().status_many(job_ids, wait=wait)
        states.pop(JobId("job-00000000"), None)
        return states


def test_reply_that_leaves_out_a_job_fails_that_job() -> None:
    """A job missing from the answer about it ends `failed`, naming the job."""
    poller = Poller(_Forgetful(), _BatchThenSingle(), progress=False)
    outcomes = run_in_virtual_time(poller, range(2))
    assert outcomes[0].kind is OutcomeKind.FAILED
    assert outcomes[0].error == "the batch_status reply left out job job-00000000"
    assert outcomes[1].kind is OutcomeKind.COMPLETED


class _FeedReader:
    """Reads the completion feed, one page at a time, from its cursor."""

    def __init__(self) -> None:
        self.cursor: str | None = None

    def start(self, board: Board) -> Poll:
        return self

    def decide(self, board: Board) -> Decision:
        if board.in_flight or not board.pending:
            return Decision(wake_at=board.now + 1.0)
        return Decision([Check(RequestKind.FEED, wait=10.0, cursor=self.cursor)])

    def observe(self, event: Observation, board: Board) -> None:
        if isinstance(event, Reply) and event.error is None:
            self.cursor = event.cursor


def test_feed_pages_end_jobs_with_their_results() -> None:
    """Jobs learned from the completion feed end with their results."""
    store = _store([1.0, 2.0, 3.0, 2.0])
    poller = Poller(store, _FeedReader(), progress=False)
    outcomes = run_in_virtual_time(poller, range(4))
    check_outcomes(outcomes, range(4))
    assert store.requests[RequestKind.GET] == 0
    assert store.requests[RequestKind.FEED] <= 4


class _Waiter:
    """Long-polls the pending jobs, then fetches the results of finished ones."""

    def start(self, board: Board) -> Poll:
        return self

    def decide(self, board: Board) -> Decision:
        if board.in_flight or not board.pending:
            return Decision(wake_at=board.now + 1.0)
        done = tuple(i for i, t in board.pending.items() if t.awaits_result)
        if done:
            return Decision([Check(RequestKind.BATCH_RESULTS, done)])
        return Decision([Check(RequestKind.WAIT, tuple(board.pending), wait=30.0)])

    def observe(self, event: Observation, board: Board) -> None:
        pass


def test_long_poll_wait_learns_of_each_completion_as_it_happens() -> None:
    """A wait answers when a job ends, so each is seen with no delay."""
    store = _store([5.0, 10.0])
    poller = Poller(store, _Waiter(), progress=False)
    outcomes = run_in_virtual_time(poller, range(2))
    check_outcomes(outcomes, range(2))
    assert poller.report is not None
    assert poller.report.delay.max == pytest.approx(0.02)


def test_deadline_times_out_requests_an_async_iterable_had_given() -> None:
    """Requests read from an async iterable but not yet submitted end timed out."""

    async def burst() -> AsyncIterator[int]:
        for n in range(6):
            yield n

    store = _store([100.0] * 6, api="sdk-only")
    poller = Poller(
        store,
        _BatchThenSingle(),
        deadline=2.5,
        rate=RateLimit(per_second=1.0),
        max_in_flight=1,
        progress=False,
    )
    outcomes = run_in_virtual_time(poller, burst())
    check_outcomes(outcomes, range(6))
    assert _kinds(outcomes) == [OutcomeKind.TIMED_OUT] * 6
    never = [
        o for o in outcomes if o.error and "before the job was submitted" in o.error
    ]
    assert len(never) == 3


def test_strategy_that_would_wait_forever_is_a_config_error() -> None:
    """A strategy that sends nothing and sets no wake time is refused, not hung."""
    poller = Poller(SimulatedJobStore(), _Stubborn(), progress=False)
    with pytest.raises(ConfigError, match="would never end"):
        run_in_virtual_time(poller, range(2))


class _Forbidden(SimulatedJobStore):
    async def get(self, job_id: JobId) -> JobState:
        raise AuthError("401: bad key")


def test_auth_error_reaches_the_caller_unwrapped() -> None:
    """A refused key raises `AuthError` itself, not an exception group."""
    poller = Poller(_Forbidden(api="sdk-only"), Naive(), progress=False)
    with pytest.raises(AuthError, match="bad key"):
        run_in_virtual_time(poller, range(3))


def test_report_counts_match_the_store() -> None:
    """The report's requests by kind are exactly those the store received."""
    store = _store([1.0, 5.0, 9.0], api="sdk-only")
    poller = Poller(store, Naive(), progress=False)
    run_in_virtual_time(poller, range(3))
    assert poller.report is not None
    assert poller.report.requests == dict(store.requests)
    assert poller.report.outcomes == {OutcomeKind.COMPLETED: 3}


def test_detection_delay_runs_from_server_completion_to_outcome() -> None:
    """A job done at t=1.02 and seen by the round at t=2 has a delay of 1.0 s."""
    store = _store([1.0], api="sdk-only")
    poller = Poller(store, Naive(interval=2.0), progress=False)
    run_in_virtual_time(poller, [0])
    assert poller.report is not None
    assert poller.report.delay.max == pytest.approx(1.0)
    assert poller.report.delay.count == 1


def test_run_logs_its_end_under_the_package_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A finished run logs one INFO line on the `polling` logger."""
    caplog.set_level(logging.INFO, logger="polling")
    run_in_virtual_time(Poller(SimulatedJobStore(), Naive(), progress=False), [0])
    finished = [r for r in caplog.records if "run finished" in r.getMessage()]
    assert [record.name for record in finished] == ["polling"]


def test_progress_off_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """With progress off, a run prints nothing to stdout or stderr."""
    run_in_virtual_time(Poller(SimulatedJobStore(), Naive(), progress=False), [0])
    assert capsys.readouterr() == ("", "")


def test_progress_on_draws_submit_and_collect_bars(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With progress on, tqdm draws a submit bar and a collect bar on stderr."""
    run_in_virtual_time(Poller(SimulatedJobStore(), Naive(), progress=True), [0])
    err = capsys.readouterr().err
    assert "submit" in err
    assert "collect" in err


def _instant_store() -> SimulatedJobStore:
    return SimulatedJobStore(duration_of=lambda request: 0.0, round_trip=0.0)


def test_collect_sync_runs_its_own_event_loop() -> None:
    """The sync facade returns the outcomes in input order, outside any loop."""
    poller = Poller(_instant_store(), Naive(interval=0.01), progress=False)
    outcomes = poller.collect_sync(range(3))
    assert [outcome.result for outcome in outcomes] == [0, 1, 2]


def test_collect_sync_runs_on_trio_when_asked() -> None:
    """The sync facade takes the anyio backend to run on."""
    poller = Poller(_instant_store(), Naive(interval=0.01), progress=False)
    outcomes = poller.collect_sync(range(2), backend="trio")
    assert [outcome.result for outcome in outcomes] == [0, 1]


@pytest.mark.anyio
async def test_collect_runs_on_every_backend() -> None:
    """`collect` works unchanged on asyncio and trio."""
    poller = Poller(_instant_store(), Naive(interval=0.01), progress=False)
    outcomes = await poller.collect(range(4))
    check_outcomes(outcomes, range(4))


@pytest.mark.anyio
async def test_stream_closed_early_ends_the_run() -> None:
    """Leaving the stream after one outcome cancels the rest of the run."""
    store = SimulatedJobStore(
        duration_of=lambda request: 0.0 if request == 0 else 3600.0, round_trip=0.0
    )
    poller = Poller(store, Naive(interval=0.01), progress=False)
    async with poller.stream(range(3)) as outcomes:
        first = await outcomes.receive()
    assert first.index == 0


@pytest.mark.parametrize("strategy", ["batch", "stack"])
def test_a_job_seen_on_the_feed_before_its_submit_returns_is_collected(
    strategy: str,
) -> None:
    # Half the answers come back 2 s after the store acted: a quick job can be
    # on the feed while the answer to its submit is still on its way.
    late = Faults(late_answer=0.5, late_by=2.0)
    store = _store([0.1] * 5000, faults=late)
    poller = Poller(store, strategy, progress=False)

    outcomes = run_in_virtual_time(poller, range(5000))

    check_outcomes(outcomes, range(5000))
    assert _kinds(outcomes) == [OutcomeKind.COMPLETED] * 5000
    # Collected from the feed, not by the staleness sweep a minute later.
    assert poller.report is not None
    assert poller.report.wall_time < 15
    assert poller.report.requests.get(RequestKind.GET, 0) == 0


class _HangsOnce(SimulatedJobStore):
    """A store whose first get never answers: a connection that went silent."""

    def __init__(self) -> None:
        super().__init__(api="sdk-only", duration_of=lambda request: 1.0)
        self.hung = 0

    async def get(self, job_id: JobId) -> JobState:
        if not self.hung:
            self.hung += 1
            await anyio.sleep_forever()
        return await super().get(job_id)


def test_a_request_that_never_answers_is_retried_after_the_request_timeout() -> None:
    store = _HangsOnce()
    poller = Poller(store, Naive(), request_timeout=5.0, progress=False)

    [outcome] = run_in_virtual_time(poller, ["only"])

    assert outcome.kind is OutcomeKind.COMPLETED
    assert store.hung == 1
    assert poller.report is not None
    assert poller.report.retries == 1
    # The first get (2 s in) went silent for its 5 s; a retry after one
    # backoff found the job done.
    assert 7.0 <= poller.report.wall_time < 7.1 + Backoff().initial


def test_without_a_request_timeout_the_deadline_still_ends_the_run() -> None:
    store = _HangsOnce()
    poller = Poller(store, Naive(), request_timeout=None, deadline=30, progress=False)

    [outcome] = run_in_virtual_time(poller, ["only"])

    assert outcome.kind is OutcomeKind.TIMED_OUT
    assert poller.report is not None
    assert poller.report.wall_time == pytest.approx(30.0)


class _FeedRecorder(SimulatedJobStore):
    """A store that keeps every job id its feed pages carried."""

    def __init__(self) -> None:
        super().__init__(duration_of=lambda request: 0.5)
        self.fed: set[JobId] = set()

    async def feed(
        self,
        cursor: str | None,
        *,
        limit: int,
        wait: float,
        since: float | None = None,
    ) -> Any:
        page = await super().feed(cursor, limit=limit, wait=wait, since=since)
        self.fed.update(state.job_id for state in page.jobs)
        return page


async def _old_completions(store: SimulatedJobStore, count: int) -> list[JobId]:
    """Jobs of an earlier run, finished long before the next one starts."""
    old = [await store.submit(n, idempotency_key=None) for n in range(count)]
    await anyio.sleep(3600)
    return old


def test_a_run_that_submits_reads_no_older_completions_from_the_feed() -> None:
    store = _FeedRecorder()
    poller = Poller(store, "batch", progress=False)

    async def scenario() -> tuple[list[JobId], list[Outcome]]:
        old = await _old_completions(store, 3000)
        return old, await poller.collect(range(50))

    old, outcomes = run_virtual(scenario)

    assert _kinds(outcomes) == [OutcomeKind.COMPLETED] * 50
    assert store.fed.isdisjoint(old)
    assert poller.report is not None
    assert poller.report.requests[RequestKind.FEED] <= 3


def test_a_run_that_attaches_reads_its_jobs_from_the_start_of_the_feed() -> None:
    store = _FeedRecorder()
    poller = Poller(store, "batch", progress=False)

    async def scenario() -> tuple[list[JobId], list[Outcome]]:
        old = await _old_completions(store, 3000)
        return old, await poller.collect_jobs(old[:10])

    old, outcomes = run_virtual(scenario)

    assert _kinds(outcomes) == [OutcomeKind.COMPLETED] * 10
    assert set(old[:10]) <= store.fed
    assert poller.report is not None
    assert poller.report.wall_time < 1.0
