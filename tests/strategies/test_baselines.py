"""The baselines: the naive loop and per-job backoff, alone and on the simulator."""

from __future__ import annotations

import pytest

from polling import (
    Board,
    Capabilities,
    Check,
    JobId,
    JobState,
    JobStatus,
    Poller,
    Reply,
    RequestKind,
    Submitted,
    Tracked,
)
from polling.testing import (
    SimulatedJobStore,
    check_outcomes,
    check_staleness,
    run_in_virtual_time,
)
from strategies import Naive, PerJobBackoff

A, B, C = JobId("a"), JobId("b"), JobId("c")


def _board(*job_ids: JobId, now: float = 0.0) -> Board:
    pending = {job_id: Tracked(job_id, n, 0.0) for n, job_id in enumerate(job_ids)}
    return Board(capabilities=Capabilities(), now=now, pending=pending)


def _get(job_id: JobId) -> Check:
    return Check(RequestKind.GET, (job_id,))


def test_naive_checks_every_pending_job_each_round() -> None:
    """A round sends one get per pending job and asks to be woken an interval on."""
    decision = Naive(interval=2.0).start(_board()).decide(_board(A, B, C))
    assert list(decision.checks) == [_get(A), _get(B), _get(C)]
    assert decision.wake_at == 2.0


def test_naive_waits_for_its_next_round() -> None:
    """Asked again before the round is due, naive sends nothing."""
    board = _board(A)
    poll = Naive(interval=2.0).start(board)
    poll.decide(board)
    board.now = 1.5
    decision = poll.decide(board)
    assert (list(decision.checks), decision.wake_at) == ([], 2.0)


def test_naive_skips_jobs_whose_check_is_still_on_its_way() -> None:
    """A job with a check in flight is not asked about again in that round."""
    board = _board(A, B)
    board.pending[A].in_flight = 1
    decision = Naive().start(board).decide(board)
    assert list(decision.checks) == [_get(B)]


def test_naive_checks_each_job_once_per_interval() -> None:
    """Ten 5-second jobs take three rounds of 2 s: 10 submits and 30 gets."""
    store = SimulatedJobStore(api="sdk-only", duration_of=lambda request: 5.0)
    outcomes = run_in_virtual_time(Poller(store, Naive(), progress=False), range(10))
    check_outcomes(outcomes, range(10))
    assert dict(store.requests) == {RequestKind.SUBMIT: 10, RequestKind.GET: 30}


def test_naive_never_leaves_a_job_unchecked_longer_than_its_interval() -> None:
    """Every job is asked about at least every interval."""
    store = SimulatedJobStore(
        api="sdk-only", duration_of=lambda request: 3.0 * request, record_checks=True
    )
    outcomes = run_in_virtual_time(
        Poller(store, Naive(interval=2.0), progress=False), range(8)
    )
    check_staleness(store, outcomes, 2.0)


@pytest.mark.parametrize("strategy", [Naive(), PerJobBackoff()], ids=repr)
def test_baselines_submit_one_job_per_request(strategy: object) -> None:
    """Even where batch submit exists, a baseline submits jobs one by one."""
    store = SimulatedJobStore(api="full")
    poller = Poller(store, strategy, progress=False)
    run_in_virtual_time(poller, range(5))
    assert store.requests[RequestKind.SUBMIT] == 5
    assert store.requests[RequestKind.BATCH_SUBMIT] == 0


def test_per_job_backoff_first_checks_a_job_after_the_initial_wait() -> None:
    """A job submitted at t=0 is first checked at t=initial, not before."""
    board = _board(A)
    poll = PerJobBackoff(initial=1.0).start(board)
    poll.observe(Submitted((A,)), board)
    early = poll.decide(board)
    assert (list(early.checks), early.wake_at) == ([], 1.0)
    board.now = 1.0
    assert list(poll.decide(board).checks) == [_get(A)]


def test_per_job_backoff_doubles_the_wait_after_each_check() -> None:
    """After the job's third check, the next one is due 2**3 initial waits later."""
    board = _board(A)
    poll = PerJobBackoff(initial=1.0, cap=30.0).start(board)
    board.pending[A].checks = 3
    state = JobState(A, JobStatus.RUNNING)
    poll.observe(Reply(_get(A), 9.0, 10.0, {A: state}), board)
    assert poll.decide(board).wake_at == 18.0


def test_per_job_backoff_never_waits_longer_than_its_cap() -> None:
    """However many checks a job has had, the next is due within `cap`."""
    board = _board(A)
    poll = PerJobBackoff(initial=1.0, cap=30.0).start(board)
    board.pending[A].checks = 50
    poll.observe(Reply(_get(A), 99.0, 100.0, {}), board)
    assert poll.decide(board).wake_at == 130.0


def test_per_job_backoff_checks_at_the_doubling_times() -> None:
    """A 10-second job is checked 1, 2, 4 and 8 s after each answer, exactly."""
    store = SimulatedJobStore(
        api="sdk-only", duration_of=lambda request: 10.0, record_checks=True
    )
    outcomes = run_in_virtual_time(Poller(store, PerJobBackoff(), progress=False), [0])
    check_outcomes(outcomes, [0])
    assert store.checks[JobId("job-00000000")] == pytest.approx(
        [1.04, 3.06, 7.08, 15.10]
    )


def test_per_job_backoff_keeps_a_long_job_within_the_cap() -> None:
    """A job running for an hour is never left unchecked longer than the cap."""
    store = SimulatedJobStore(
        api="sdk-only", duration_of=lambda request: 3600.0, record_checks=True
    )
    outcomes = run_in_virtual_time(
        Poller(store, PerJobBackoff(cap=30.0), progress=False), [0]
    )
    check_staleness(store, outcomes, 30.0 + store.round_trip)
    with pytest.raises(AssertionError, match="over the cap of 29s"):
        check_staleness(store, outcomes, 29.0)
