"""Properties every built-in strategy holds on drawn stores, in virtual time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polling import (
    Backoff,
    Capabilities,
    Outcome,
    Poller,
    PollStrategy,
    RateLimit,
    RequestKind,
)
from polling.testing import (
    Simulation,
    check_in_flight,
    check_no_duplicates,
    check_outcomes,
    check_rate,
    check_staleness,
    faults,
    rate_limits,
    run_in_virtual_time,
    store_configs,
    stores,
    workloads,
)
from strategies import (
    Adaptive,
    Batch,
    Predictive,
    Sample,
    SeedAdaptive,
    SeedBatch,
    SeedSample,
    SeedSemaphore,
    Semaphore,
    Stack,
)

# Each built-in strategy with parameters that make its staleness cap small, and
# that cap: the longest a pending job may go unchecked, seconds.
CAPPED: dict[str, tuple[PollStrategy, float]] = {
    "batch": (Batch(interval=1.0, wait=5.0, max_staleness=10.0), 10.0),
    "semaphore": (Semaphore(concurrency=50, interval=2.0), 2.5),
    "adaptive": (Adaptive(min_interval=1.0, max_interval=10.0), 10.5),
    "sample": (Sample(size=5, interval=2.0, max_staleness=12.0), 12.5),
    "predictive": (Predictive(target_delay=2.0, max_staleness=8.0), 8.5),
    "stack": (Stack(target_delay=2.0, max_staleness=10.0), 10.5),
}
BUILT_INS = sorted(CAPPED)
SEEDS: list[PollStrategy] = [SeedBatch(), SeedSemaphore(), SeedAdaptive(), SeedSample()]

# Retries that end soon, so that runs under faults stay short.
QUICK_RETRIES = Backoff(initial=0.05, cap=0.2, attempts=4)

# Faults whose retries end soon: no slow answers, no 429 pauses.
quick_faults = faults(slow=False, late_answer=False, rate_limited=False)

# Only 429s, each with its Retry-After.
pauses_only = faults(
    transport_error=False,
    server_error=False,
    lost_response=False,
    slow=False,
    late_answer=False,
)


def _run(
    sim: Simulation, strategy: PollStrategy, max_in_flight: int | None = 100
) -> list[Outcome]:
    poller = Poller(
        sim.store,
        strategy,
        max_in_flight=max_in_flight,
        backoff=QUICK_RETRIES,
        progress=False,
    )
    return run_in_virtual_time(poller, sim.requests)


def _strategy(name: str) -> PollStrategy:
    return CAPPED[name][0]


@pytest.mark.parametrize("name", BUILT_INS)
@given(sim=stores(configs=store_configs(faults=faults())))
def test_every_job_ends_in_exactly_one_outcome(name: str, sim: Simulation) -> None:
    """Under any faults, every built-in strategy ends each job exactly once."""
    outcomes = _run(sim, _strategy(name))
    check_outcomes(outcomes, sim.requests)
    check_no_duplicates(sim.store)


@pytest.mark.parametrize("strategy", SEEDS, ids=repr)
@given(sim=stores(configs=store_configs(faults=faults())))
def test_published_baselines_end_every_job_once(
    strategy: PollStrategy, sim: Simulation
) -> None:
    """The faithful baselines, flaws and all, still end each job exactly once."""
    outcomes = _run(sim, strategy, max_in_flight=None)
    check_outcomes(outcomes, sim.requests)


@pytest.mark.parametrize("name", BUILT_INS)
@given(sim=stores(), limit=st.integers(1, 12))
def test_requests_in_flight_never_exceed_the_limit(
    name: str, sim: Simulation, limit: int
) -> None:
    """The engine's in-flight limit holds for every strategy's requests."""
    _run(sim, _strategy(name), max_in_flight=limit)
    check_in_flight(sim.store, limit)


@pytest.mark.parametrize("name", BUILT_INS)
@given(
    sim=stores(configs=store_configs(rate_limit=rate_limits())),
)
def test_requests_keep_to_the_declared_rate(name: str, sim: Simulation) -> None:
    """Paced by the declared limit, no strategy sends faster than the API allows."""
    _run(sim, _strategy(name))
    declared = sim.store.rate_limit
    assert declared is not None
    check_rate(sim.store, declared)
    assert sim.store.rejected == 0


@pytest.mark.parametrize("name", BUILT_INS)
@given(
    sim=stores(
        jobs=workloads(max_duration=30.0),
        configs=store_configs(faults=st.none(), rate_limit=st.none()),
    )
)
def test_no_pending_job_goes_unchecked_past_the_cap(name: str, sim: Simulation) -> None:
    """Every pending job is checked within the strategy's staleness cap.

    Without faults or a rate limit: each failed attempt, and a rate too slow to
    check every pending job within the cap, adds time no strategy controls.
    """
    strategy, cap = CAPPED[name]
    outcomes = _run(sim, strategy)
    check_staleness(sim.store, outcomes, cap)


@pytest.mark.parametrize("name", BUILT_INS)
@given(
    sim=stores(
        jobs=workloads(max_duration=30.0),
        configs=store_configs(faults=pauses_only, rate_limit=st.none()),
    )
)
def test_the_cap_holds_once_retry_after_pauses_are_added(
    name: str, sim: Simulation
) -> None:
    """Under 429s, the cap holds with the pauses the API asked for added to it."""
    strategy, cap = CAPPED[name]
    outcomes = _run(sim, strategy)
    pause = sim.store.faults.retry_after or QUICK_RETRIES.cap
    slack = QUICK_RETRIES.attempts * (pause + 2 * sim.store.round_trip)
    check_staleness(sim.store, outcomes, cap + slack)


@pytest.mark.parametrize("name", ["batch", "adaptive", "sample", "stack"])
@given(
    sim=stores(
        jobs=workloads(min_jobs=1, max_jobs=60),
        configs=store_configs(apis=["full"]),
    ),
    limit=st.integers(1, 7),
)
def test_batches_never_exceed_the_servers_limit(
    name: str, sim: Simulation, limit: int
) -> None:
    """Ids are chunked to the batch size the API declares, however many pend."""
    sim.store.batch_limit = limit
    outcomes = _run(sim, _strategy(name))
    check_outcomes(outcomes, sim.requests)
    assert 0 < sim.store.largest_batch <= limit


FULL_BUT_ABSENT = Capabilities(
    batch_submit=1000,
    batch_status=1000,
    batch_results=1000,
    wait=30.0,
    feed=1000,
    feed_wait=30.0,
    idempotent_submit=True,
)


@given(
    sim=stores(configs=store_configs(apis=["sdk-only"], faults=quick_faults)),
    layers=st.sampled_from(
        [
            (),
            (Batch(), Predictive()),
            (Batch(), Semaphore()),
            (Batch(use_feed=False), Adaptive(), Semaphore()),
        ]
    ),
)
def test_fallback_loses_and_repeats_no_job(
    sim: Simulation, layers: tuple[PollStrategy, ...]
) -> None:
    """A stack told of routes that 404 falls back without losing or repeating."""
    sim.store._declared = FULL_BUT_ABSENT
    outcomes = _run(sim, Stack(layers=layers))
    check_outcomes(outcomes, sim.requests)
    check_no_duplicates(sim.store)


@given(sim=stores(jobs=workloads(min_jobs=5), configs=store_configs(apis=["sdk-only"])))
def test_a_missing_route_is_asked_for_once(sim: Simulation) -> None:
    """A 404 on a batch route is remembered: only requests sent together with the
    first one (at most the four batch submitters) ever reach the missing route."""
    sim.store._declared = FULL_BUT_ABSENT
    _run(sim, Stack())
    for kind in (
        RequestKind.BATCH_SUBMIT,
        RequestKind.FEED,
        RequestKind.BATCH_STATUS,
        RequestKind.BATCH_RESULTS,
        RequestKind.WAIT,
    ):
        assert sim.store.requests[kind] <= 4, kind


@pytest.mark.parametrize(
    "declared",
    [None, RateLimit(per_second=20.0, burst=5)],
    ids=["no-limit", "limited"],
)
@given(sim=stores(configs=store_configs(apis=["full"])))
def test_stack_on_the_full_api_uses_the_feed(
    declared: RateLimit | None, sim: Simulation
) -> None:
    """Where the API has a completion feed, the stack reads results from it."""
    sim.store.rate_limit = declared
    outcomes = _run(sim, Stack())
    check_outcomes(outcomes, sim.requests)
    assert sim.store.requests[RequestKind.GET] == 0
