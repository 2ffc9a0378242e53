"""Properties every run holds, on drawn simulated stores, in virtual time."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from polling import (
    Board,
    Check,
    Decision,
    Observation,
    Outcome,
    OutcomeKind,
    Poll,
    Poller,
    PollStrategy,
    RateLimit,
    RequestKind,
)
from polling.testing import (
    Faults,
    JobSet,
    Simulation,
    StoreConfig,
    check_in_flight,
    check_no_duplicates,
    check_outcomes,
    check_pauses,
    check_rate,
    faults,
    rate_limits,
    run_in_virtual_time,
    store_configs,
    stores,
    workloads,
)
from strategies import Naive, PerJobBackoff

baselines = st.sampled_from([Naive(), PerJobBackoff()])


def _run(
    sim: Simulation, strategy: PollStrategy, max_in_flight: int | None = 100
) -> list[Outcome]:
    poller = Poller(sim.store, strategy, max_in_flight=max_in_flight, progress=False)
    return run_in_virtual_time(poller, sim.requests)


@given(sim=stores(configs=store_configs(faults=faults())), strategy=baselines)
def test_every_job_ends_in_exactly_one_terminal_outcome(
    sim: Simulation, strategy: PollStrategy
) -> None:
    """Under any faults, each job given to the poller has exactly one outcome."""
    outcomes = _run(sim, strategy)
    check_outcomes(outcomes, sim.requests)


@given(sim=stores(configs=store_configs(faults=faults())), strategy=baselines)
def test_no_job_is_submitted_twice_under_faults(
    sim: Simulation, strategy: PollStrategy
) -> None:
    """Lost answers, 503s, connect errors and 429s never create a second job."""
    _run(sim, strategy)
    check_no_duplicates(sim.store)


@given(
    sim=stores(
        configs=store_configs(
            apis=["sdk-only"],
            rate_limit=st.none(),
            faults=faults(rate_limited=False),
        )
    ),
    strategy=baselines,
)
def test_submit_without_idempotency_is_never_sent_twice(
    sim: Simulation, strategy: PollStrategy
) -> None:
    """Without keys, each request reaches the store at most once; lost is unknown."""
    outcomes = _run(sim, strategy)
    assert sim.store.requests[RequestKind.SUBMIT] <= len(sim.requests)
    unsure = [o for o in outcomes if o.kind is OutcomeKind.UNKNOWN]
    assert all(outcome.job_id is None for outcome in unsure)


@given(
    sim=stores(configs=store_configs(apis=["full"], faults=faults())),
    strategy=baselines,
)
def test_lost_answers_with_idempotency_keys_leave_one_job_each(
    sim: Simulation, strategy: PollStrategy
) -> None:
    """With keys, every request the store took ends as one job, never two."""
    outcomes = _run(sim, strategy)
    created = sim.store.created
    assert all(created[request] <= 1 for request in sim.requests)
    with_ids = {o.job_id for o in outcomes if o.job_id is not None}
    assert len(with_ids) <= sim.store.job_count()


@given(
    sim=stores(configs=store_configs(faults=st.none() | faults())),
    strategy=baselines,
    deadline=st.floats(0.01, 120.0),
)
def test_deadline_ends_the_run_on_time_and_times_out_the_rest(
    sim: Simulation, strategy: PollStrategy, deadline: float
) -> None:
    """The run never outlasts its deadline; whatever it cut off ends timed out."""
    poller = Poller(sim.store, strategy, deadline=deadline, progress=False)
    outcomes = run_in_virtual_time(poller, sim.requests)
    check_outcomes(outcomes, sim.requests)
    assert poller.report is not None
    timed_out = [o for o in outcomes if o.kind is OutcomeKind.TIMED_OUT]
    if timed_out:
        assert poller.report.wall_time == deadline
    else:
        assert poller.report.wall_time <= deadline


class _Eager:
    """Every pending job checked every second; no in-flight limit of its own."""

    def start(self, board: Board) -> Poll:
        return self

    def decide(self, board: Board) -> Decision:
        checks = [
            Check(RequestKind.GET, (job_id,))
            for job_id, tracked in board.pending.items()
            if not tracked.in_flight
        ]
        return Decision(checks, wake_at=board.now + 1.0)

    def observe(self, event: Observation, board: Board) -> None:
        pass


@attrs.frozen
class _EagerWithLimit(_Eager):
    """The same, with a limit of its own for the engine to keep."""

    max_in_flight: int


@given(
    sim=stores(configs=store_configs(faults=st.none() | faults())),
    limit=st.integers(1, 8),
)
def test_requests_in_flight_never_exceed_the_pollers_limit(
    sim: Simulation, limit: int
) -> None:
    """The store never sees more requests at once than the poller's limit."""
    _run(sim, _Eager(), max_in_flight=limit)
    check_in_flight(sim.store, limit)


@given(
    sim=stores(configs=store_configs(faults=st.none() | faults())),
    limit=st.integers(1, 8),
)
def test_requests_in_flight_never_exceed_the_strategys_limit(
    sim: Simulation, limit: int
) -> None:
    """A strategy's own `max_in_flight` bounds the requests at once."""
    _run(sim, _EagerWithLimit(limit), max_in_flight=None)
    check_in_flight(sim.store, limit)


@given(
    jobs=workloads(min_jobs=1),
    rate=rate_limits(),
    api=st.sampled_from(["full", "sdk-only"]),
    strategy=baselines,
)
def test_requests_keep_under_the_stores_declared_rate(
    jobs: JobSet, rate: RateLimit, api: str, strategy: PollStrategy
) -> None:
    """Paced to the declared limit, the client is never refused and never over."""
    store = jobs.store(api=api, rate_limit=rate, record_checks=True)
    poller = Poller(store, strategy, progress=False)
    outcomes = run_in_virtual_time(poller, jobs.requests)
    check_outcomes(outcomes, jobs.requests)
    check_rate(store, rate)
    assert store.rejected == 0


@given(jobs=workloads(min_jobs=1), rate=rate_limits(), strategy=baselines)
def test_requests_keep_to_the_pollers_own_rate(
    jobs: JobSet, rate: RateLimit, strategy: PollStrategy
) -> None:
    """Given a rate of its own, the poller keeps to it exactly, burst included."""
    store = jobs.store(api="sdk-only", record_checks=True)
    poller = Poller(store, strategy, rate=rate, progress=False)
    run_in_virtual_time(poller, jobs.requests)
    check_rate(store, rate)


@given(
    jobs=workloads(min_jobs=1),
    probability=st.floats(0.01, 0.3),
    retry_after=st.sampled_from([0.5, 1.0, 2.0, 5.0]),
    api=st.sampled_from(["full", "sdk-only"]),
    strategy=baselines,
    seed=st.integers(0, 1000),
)
def test_retry_after_pauses_every_request(
    jobs: JobSet,
    probability: float,
    retry_after: float,
    api: str,
    strategy: PollStrategy,
    seed: int,
) -> None:
    """After a 429 with Retry-After, nothing sent reaches the store until it ends."""
    config = StoreConfig(
        api=api,
        faults=Faults(rate_limited=probability, retry_after=retry_after),
        seed=seed,
    )
    store = jobs.store(**config.options())
    outcomes = run_in_virtual_time(
        Poller(store, strategy, progress=False), jobs.requests
    )
    check_outcomes(outcomes, jobs.requests)
    check_pauses(store, retry_after)
