"""A user's own pytest suite for a strategy, built on `polling.testing` alone."""

from __future__ import annotations

import anyio
from custom_strategy import AtAges
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polling import (
    Outcome,
    OutcomeKind,
    Poller,
    PollStrategy,
    RateLimit,
    Report,
    RequestKind,
)
from polling.testing import (
    Faults,
    JobSet,
    SimulatedJobStore,
    Simulation,
    Workload,
    check_in_flight,
    check_no_duplicates,
    check_outcomes,
    check_pauses,
    check_rate,
    faults,
    floor_requests,
    lognormal,
    rate_limits,
    run_in_virtual_time,
    run_virtual,
    store_configs,
    stores,
    workloads,
)

# Virtual time makes each example fast, but on a loaded machine one may still take
# longer than Hypothesis's default deadline of 200 ms, or draw slowly.
virtual_time = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_exact_counts_on_a_hand_made_store() -> None:
    """Ten jobs of 3 s, checked at ages 1 s and 5 s: two gets each, no more."""
    store = SimulatedJobStore(duration_of=lambda request: 3.0, api="sdk-only")
    poller = Poller(store, AtAges(ages=(1.0, 5.0)), progress=False)

    outcomes = run_in_virtual_time(poller, range(10))

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.COMPLETED] * 10
    assert store.requests == {RequestKind.SUBMIT: 10, RequestKind.GET: 20}
    assert poller.report is not None
    assert poller.report.wall_time < 6.0  # virtual seconds


@virtual_time
@given(sim=stores(configs=store_configs(faults=faults())))
def test_every_job_ends_once_under_faults(sim: Simulation) -> None:
    """Connect errors, 503s, lost answers and 429s: one outcome per job."""
    poller = Poller(sim.store, AtAges(), progress=False)

    outcomes = run_in_virtual_time(poller, sim.requests)

    check_outcomes(outcomes, sim.requests)
    check_no_duplicates(sim.store)


@virtual_time
@given(jobs=workloads(min_jobs=1, max_jobs=30), rate=rate_limits())
def test_keeps_under_the_declared_rate(jobs: JobSet, rate: RateLimit) -> None:
    """Paced by the poller, no request is refused and none comes too soon."""
    store = jobs.store(api="sdk-only", rate_limit=rate, record_checks=True)
    poller = Poller(store, AtAges(), progress=False)

    run_in_virtual_time(poller, jobs.requests)

    check_rate(store, rate)
    assert store.rejected == 0


@virtual_time
@given(jobs=workloads(min_jobs=1, max_jobs=30), limit=st.integers(1, 5))
def test_never_more_requests_at_once_than_allowed(jobs: JobSet, limit: int) -> None:
    """The poller's `max_in_flight` holds for this strategy's checks too."""
    store = jobs.store(api="sdk-only", record_checks=True)
    poller = Poller(store, AtAges(), max_in_flight=limit, progress=False)

    run_in_virtual_time(poller, jobs.requests)

    check_in_flight(store, limit)


@virtual_time
@given(jobs=workloads(min_jobs=1, max_jobs=30))
def test_waits_out_every_retry_after(jobs: JobSet) -> None:
    """After a 429 asking for 2 s, nothing is sent for 2 s."""
    store = jobs.store(
        api="sdk-only",
        faults=Faults(rate_limited=0.2, retry_after=2.0),
        record_checks=True,
    )
    poller = Poller(store, AtAges(), progress=False)

    run_in_virtual_time(poller, jobs.requests)

    check_pauses(store, retry_after=2.0)


SMALL_BURST = Workload("small-burst", 500, lognormal(1.0, 0.5), workers=50)
"""The benchmarks' seed-burst, a hundred times smaller: 500 jobs, 50 workers."""


def _run_small_burst(strategy: PollStrategy | str) -> tuple[Report, float]:
    """Collect the small burst on a single-call API; the report and round trip."""
    population = SMALL_BURST.population(seed=1)
    store = population.store(SMALL_BURST, api="sdk-only")
    poller = Poller(store, strategy, progress=False)

    outcomes = run_in_virtual_time(poller, population.requests(), seed=1)

    check_outcomes(outcomes, list(range(len(population))))
    assert poller.report is not None
    return poller.report, store.round_trip


def test_a_wide_gap_costs_fewer_requests_than_the_naive_loop() -> None:
    """Checked every 10 s, jobs cost fewer requests than naive's 2 s loop, and
    no result waits longer than 10 s and one round trip."""
    mine, round_trip = _run_small_burst(AtAges(ages=(1.0, 5.0), every=10.0))
    naive, _ = _run_small_burst("naive")

    assert mine.total_requests < naive.total_requests
    assert mine.delay.max <= 10.0 + round_trip
    floor = floor_requests(500, "sdk-only")
    assert floor <= mine.total_requests < 2 * floor


def test_outcomes_arrive_in_order_of_completion() -> None:
    """Streamed, a 1 s job's outcome comes before a 9 s job's, at virtual times."""
    store = SimulatedJobStore(duration_of=lambda request: float(request))
    poller = Poller(store, AtAges(ages=(1.0,), every=1.0), progress=False)

    async def stream() -> list[tuple[Outcome, float]]:
        arrived = []
        async with poller.stream([9, 1]) as outcomes:
            async for outcome in outcomes:
                arrived.append((outcome, anyio.current_time()))
        return arrived

    (first, at_first), (second, at_second) = run_virtual(stream)

    assert (first.result, second.result) == (1, 9)
    assert 1.0 < at_first < 2.0 < 9.0 < at_second < 10.5
