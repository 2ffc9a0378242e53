"""The benchmark workloads of WORKLOADS.md, as populations of simulated jobs."""

from __future__ import annotations

import pytest

from polling import JobId, Poller, RateLimit
from polling.testing import (
    RATE_LIMITS,
    WORKLOADS,
    SimulatedJobStore,
    Workload,
    check_outcomes,
    floor_requests,
    lognormal,
    run_in_virtual_time,
    uniform,
)
from strategies import Naive


def test_published_workloads_have_their_sizes_and_queues() -> None:
    """The four workloads have the job counts and worker pools of WORKLOADS.md."""
    shape = {
        name: (w.jobs, w.workers, w.arrivals_per_second, w.arrival_window)
        for name, w in WORKLOADS.items()
    }
    assert shape == {
        "seed-burst": (50_000, 2_000, None, None),
        "heavy-tail": (10_000, None, None, None),
        "trickle": (30_000, None, 50.0, 600.0),
        "million": (1_000_000, 20_000, None, None),
    }


def test_limited_rate_is_ten_thousand_a_minute_with_a_burst_of_500() -> None:
    """`limited` is 10,000 requests a minute, burst 500; `none` is no limit."""
    limits = dict(RATE_LIMITS)
    assert limits == {"none": None, "limited": RateLimit(10_000 / 60, 500)}


@pytest.mark.parametrize(
    ("jobs", "api", "floor"),
    [(50_000, "full", 100), (50_000, "sdk-only", 100_000), (1, "full", 2)],
)
def test_floor_is_submits_plus_result_reads(jobs: int, api: str, floor: int) -> None:
    """The floor is two requests per batch of 1,000, or two per job without."""
    assert floor_requests(jobs, api) == floor


def test_population_repeats_for_a_seed() -> None:
    """The same seed draws the same durations and failures; another does not."""
    workload = Workload("w", 200, lognormal(1.0, 0.5), failure_rate=0.1)
    assert workload.population(1) == workload.population(1)
    assert workload.population(1) != workload.population(2)


def test_population_fails_about_its_failure_rate() -> None:
    """About the set share of jobs fail."""
    population = Workload("w", 10_000, uniform(1.0, 2.0)).population(0)
    assert 50 <= len(population.failing) <= 150


def test_population_store_runs_exactly_its_jobs() -> None:
    """The store of a population runs each job for its drawn duration."""
    workload = Workload("w", 20, uniform(1.0, 9.0), workers=4)
    population = workload.population(3)
    store = population.store(workload, api="sdk-only")
    outcomes = run_in_virtual_time(
        Poller(store, Naive(), progress=False), population.requests()
    )
    check_outcomes(outcomes, range(20))
    failed = {o.index for o in outcomes if not o.ok}
    assert failed == set(population.failing)


def test_arrivals_over_time_are_submitted_when_they_arrive() -> None:
    """A Poisson workload's requests reach the store at their drawn times."""
    workload = Workload(
        "w", 0, uniform(5.0, 6.0), arrivals_per_second=1.0, arrival_window=20.0
    )
    population = workload.population(0)
    assert population.arrivals is not None
    store: SimulatedJobStore = population.store(workload, api="sdk-only")
    run_in_virtual_time(Poller(store, Naive(), progress=False), population.requests())
    submitted = [
        store.submission_time(JobId(f"job-{n:08d}")) for n in range(len(population))
    ]
    assert submitted == pytest.approx([t + 0.02 for t in population.arrivals])
