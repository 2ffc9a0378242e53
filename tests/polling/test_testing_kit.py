"""The testing kit: its checks catch what they claim, its strategies stay small."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import given

from polling import JobId, Outcome, OutcomeKind, Poller, RateLimit, RequestKind
from polling.testing import (
    Faults,
    JobSet,
    SimulatedJobStore,
    Simulation,
    StoreConfig,
    check_in_flight,
    check_no_duplicates,
    check_outcomes,
    check_pauses,
    check_rate,
    check_staleness,
    faults,
    run_in_virtual_time,
    run_virtual,
    store_configs,
    stores,
    workloads,
)
from strategies import Naive, PerJobBackoff


def _done(index: int, result: object = None, job: str | None = None) -> Outcome:
    job_id = JobId(job or f"job-{index}")
    return Outcome(index, job_id, OutcomeKind.COMPLETED, result=result)


def test_check_outcomes_accepts_one_right_outcome_per_job() -> None:
    """Outcomes that match their requests one to one pass."""
    check_outcomes([_done(1, "b"), _done(0, "a")], ["a", "b"])


def test_check_outcomes_names_the_jobs_without_an_outcome() -> None:
    """A missing outcome is reported with the job's index and the counts."""
    with pytest.raises(AssertionError, match="1 of 3 jobs have no outcome: 2"):
        check_outcomes([_done(0, "a"), _done(1, "b")], ["a", "b", "c"])


def test_check_outcomes_names_a_job_with_two_outcomes() -> None:
    """Two outcomes for one job are reported with both kinds."""
    twice = [_done(0, "a"), Outcome(0, JobId("job-0"), OutcomeKind.TIMED_OUT)]
    with pytest.raises(AssertionError, match="job 0 has 2 outcomes: completed"):
        check_outcomes(twice, ["a"])


def test_check_outcomes_names_a_result_that_is_not_the_jobs_own() -> None:
    """A completed job carrying another request's result is reported."""
    with pytest.raises(AssertionError, match=r"job 0 .* result 'b', but its request"):
        check_outcomes([_done(0, "b")], ["a"])


def test_check_outcomes_names_an_outcome_out_of_range() -> None:
    """An outcome for a job that was never given is reported."""
    with pytest.raises(AssertionError, match="outcome for job 5, but only 1"):
        check_outcomes([_done(5, "a")], ["a"])


def test_check_outcomes_names_a_job_id_shared_by_two_jobs() -> None:
    """One job id ending two jobs is reported with both."""
    shared = [_done(0, "a", job="x"), _done(1, "b", job="x")]
    with pytest.raises(AssertionError, match="job id x is the outcome of jobs 0 and 1"):
        check_outcomes(shared, ["a", "b"])


def test_check_outcomes_can_skip_the_result_check() -> None:
    """With `echo=False`, results are not compared with requests."""
    check_outcomes([_done(0, "anything")], ["a"], echo=False)


def test_check_no_duplicates_names_a_request_created_twice() -> None:
    """A request submitted twice without a key is reported with its count."""
    store = SimulatedJobStore(round_trip=0.0)

    async def submit_twice() -> None:
        for _ in range(2):
            await store.submit("x", idempotency_key=None)

    run_virtual(submit_twice)
    with pytest.raises(AssertionError, match="request 'x' was created as 2 jobs"):
        check_no_duplicates(store)


def test_check_in_flight_names_the_peak_and_the_limit() -> None:
    """Three requests at once are reported against a limit of two."""
    store = SimulatedJobStore()

    async def three_at_once() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(store.get, JobId("job"))

    run_virtual(three_at_once)
    check_in_flight(store, 3)
    with pytest.raises(AssertionError, match=r"saw 3 requests in flight .* limit of 2"):
        check_in_flight(store, 2)


def _recorded(
    arrivals: list[float], rejections: tuple[float, ...] = ()
) -> SimulatedJobStore:
    store = SimulatedJobStore(record_checks=True)
    store.arrivals.extend(arrivals)
    store.rejections.extend(rejections)
    return store


def test_check_rate_accepts_a_burst_then_the_pace() -> None:
    """Two at once, then one a second, keeps to one a second with a burst of two."""
    check_rate(_recorded([0.0, 0.0, 1.0, 2.0, 3.0]), RateLimit(1.0, burst=2))


def test_check_rate_names_the_stretch_that_was_too_busy() -> None:
    """Three arrivals within half a second break one a second with a burst of 2."""
    store = _recorded([0.0, 0.2, 0.5, 9.0])
    with pytest.raises(AssertionError, match=r"3 requests .* in 0.5000s .* burst of 2"):
        check_rate(store, RateLimit(1.0, burst=2))


def test_checks_of_records_need_a_recording_store() -> None:
    """A store that recorded nothing cannot be checked, and says so."""
    with pytest.raises(AssertionError, match="record_checks=True"):
        check_rate(SimulatedJobStore(), RateLimit(1.0))


def test_check_pauses_allows_requests_already_on_their_way() -> None:
    """An arrival within one round trip of a 429 was sent before it."""
    check_pauses(_recorded([1.0, 1.02, 3.02], rejections=(1.0,)), 2.0)


def test_check_pauses_names_a_request_sent_during_the_pause() -> None:
    """An arrival well inside the pause is reported with both times."""
    store = _recorded([1.0, 1.5], rejections=(1.0,))
    with pytest.raises(AssertionError, match=r"t=1.5000s, during the pause of 2s"):
        check_pauses(store, 2.0)


def test_check_staleness_measures_the_gaps_between_checks() -> None:
    """Naive every 2 s keeps each job within 2 s of a check, and not within 1.9."""
    store = SimulatedJobStore(
        api="sdk-only", duration_of=lambda request: 10.0, record_checks=True
    )
    outcomes = run_in_virtual_time(Poller(store, Naive(), progress=False), [0])
    check_staleness(store, outcomes, 2.0)
    with pytest.raises(AssertionError, match=r"job 0 \(job-00000000\) went 2.0000s"):
        check_staleness(store, outcomes, 1.9)


def _signature(seed: int) -> tuple[list[Outcome], dict[RequestKind, int]]:
    store = SimulatedJobStore(
        api="sdk-only",
        duration_of=lambda request: float(request % 7),
        faults=Faults(transport_error=0.1, server_error=0.1, rate_limited=0.1),
        seed=seed,
    )
    poller = Poller(store, PerJobBackoff(), progress=False, seed=seed)
    outcomes = run_in_virtual_time(poller, range(30), seed=seed)
    return outcomes, dict(store.requests)


def test_a_seeded_run_repeats_to_the_request() -> None:
    """The same seeds give the same outcomes and the same request counts."""
    assert _signature(11) == _signature(11)


@given(jobs=workloads(max_jobs=5, max_duration=3.0, queue=False))
def test_workloads_respect_their_bounds(jobs: JobSet) -> None:
    """Drawn populations stay within the sizes and durations asked for."""
    assert len(jobs) <= 5
    assert all(0.0 <= duration <= 3.0 for duration in jobs.durations)
    assert jobs.failing <= set(jobs.requests)
    assert jobs.workers is None


@given(drawn=faults(max_probability=0.05, lost_response=False))
def test_faults_respect_their_bounds(drawn: Faults) -> None:
    """Drawn faults stay under the highest probability; excluded ones are zero."""
    assert drawn.lost_response == 0.0
    probabilities = [drawn.transport_error, drawn.server_error, drawn.rate_limited]
    assert all(0.0 <= p <= 0.05 for p in probabilities)


@given(config=store_configs(apis=["sdk-only"]))
def test_store_configs_draw_from_the_apis_given(config: StoreConfig) -> None:
    """Only the APIs asked for are drawn, and every store records its checks."""
    assert config.api == "sdk-only"
    assert config.options()["record_checks"] is True


@given(sim=stores())
def test_stores_run_exactly_the_drawn_jobs(sim: Simulation) -> None:
    """A drawn store runs its population: one outcome per job, none doubled."""
    outcomes = run_in_virtual_time(
        Poller(sim.store, Naive(), progress=False), sim.requests
    )
    check_outcomes(outcomes, sim.requests)
    failed = {o.index for o in outcomes if o.kind is OutcomeKind.FAILED}
    assert failed == set(sim.jobs.failing)
