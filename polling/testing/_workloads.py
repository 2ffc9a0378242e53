"""The benchmark workloads of WORKLOADS.md, as populations of simulated jobs."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Final

import anyio
import attrs

from .._api import RateLimit
from .._errors import ConfigError
from ._sim import Faults, SimulatedJobStore

ServiceTime = Callable[[random.Random], float]
"""Draws one job's run time, in seconds, from the generator it is given."""


def lognormal(median: float, sigma: float) -> ServiceTime:
    """Run times spread lognormally, as real job times often are.

    Args:
        median: Half the jobs run shorter than this, seconds.
        sigma: The spread: the standard deviation of the run time's logarithm.
            0.5 puts 99 % of jobs within about 3.6 times the median either way;
            1.2 gives a heavy tail.
    """
    return lambda rng: rng.lognormvariate(math.log(median), sigma)


def uniform(low: float, high: float) -> ServiceTime:
    """Run times spread evenly between two bounds.

    Args:
        low: The shortest run time, seconds.
        high: The longest run time, seconds.
    """
    return lambda rng: rng.uniform(low, high)


@attrs.frozen
class Workload:
    """A population of jobs: how many, when they arrive, how long they run.

    Args:
        name: As in WORKLOADS.md.
        jobs: How many, when they all arrive at once.
        service: Draws one job's run time.
        workers: Jobs the store runs at once (a FIFO queue for the rest); None for
            no queue.
        arrivals_per_second: For arrivals over time: the Poisson rate.
        arrival_window: For arrivals over time: how long they go on, seconds.
        failure_rate: The share of jobs that fail.
    """

    name: str
    jobs: int
    service: ServiceTime
    workers: int | None = None
    arrivals_per_second: float | None = None
    arrival_window: float | None = None
    failure_rate: float = 0.01

    def population(self, seed: int) -> Population:
        """Draw the jobs: the same seed gives the same jobs, for every strategy.

        Args:
            seed: Seeds the run times, the failures and the arrival times.
        """
        rng = random.Random(seed)
        arrivals: list[float] | None = None
        count = self.jobs
        if self.arrivals_per_second is not None:
            arrivals = _poisson(
                rng, self.arrivals_per_second, self.arrival_window or 0.0
            )
            count = len(arrivals)
        durations = [self.service(rng) for _ in range(count)]
        failing = frozenset(
            index for index in range(count) if rng.random() < self.failure_rate
        )
        return Population(durations, failing, arrivals)


@attrs.frozen
class Population:
    """The jobs of one workload for one seed. Request `i` is the integer `i`.

    Args:
        durations: How long each job runs once a worker takes it, seconds.
        failing: The jobs that fail, by request.
        arrivals: When each job arrives, seconds from the start of the run; None
            when they all arrive at once.
    """

    durations: list[float]
    failing: frozenset[int]
    arrivals: list[float] | None

    def __len__(self) -> int:
        return len(self.durations)

    def store(
        self,
        workload: Workload,
        *,
        api: str = "full",
        rate_limit: RateLimit | None = None,
        faults: Faults | None = None,
        seed: int = 0,
        **options: Any,
    ) -> SimulatedJobStore:
        """A simulated store that runs exactly these jobs.

        Args:
            workload: The workload these jobs were drawn from (its worker pool).
            api: `"full"` or `"sdk-only"`.
            rate_limit: The store's own limit; None for none.
            faults: What to inject; None for nothing.
            seed: Seeds the faults.
            **options: Any other argument of `SimulatedJobStore`.
        """
        return SimulatedJobStore(
            duration_of=self.durations.__getitem__,
            fails_of=self.failing.__contains__,
            workers=workload.workers,
            api=api,
            rate_limit=rate_limit,
            faults=faults,
            seed=seed,
            **options,
        )

    def requests(self) -> Iterable[int] | AsyncIterator[int]:
        """The requests, all at once or as they arrive over time.

        Returns:
            A range when every job arrives at the start, else an async iterator
            that yields each request at its arrival time (run it on the poller's
            clock: in virtual time, the arrivals take no real time).
        """
        if self.arrivals is None:
            return range(len(self.durations))
        return self._arriving(self.arrivals)

    @staticmethod
    async def _arriving(arrivals: list[float]) -> AsyncIterator[int]:
        start = anyio.current_time()
        for index, offset in enumerate(arrivals):
            await anyio.sleep_until(start + offset)
            yield index


def _poisson(rng: random.Random, rate: float, window: float) -> list[float]:
    times: list[float] = []
    now = rng.expovariate(rate)
    while now < window:
        times.append(now)
        now += rng.expovariate(rate)
    return times


WORKLOADS: Final[dict[str, Workload]] = {
    "seed-burst": Workload("seed-burst", 50_000, lognormal(1.0, 0.5), workers=2_000),
    "heavy-tail": Workload("heavy-tail", 10_000, lognormal(10.0, 1.2)),
    "trickle": Workload(
        "trickle",
        30_000,
        uniform(5.0, 60.0),
        arrivals_per_second=50.0,
        arrival_window=600.0,
    ),
    "million": Workload("million", 1_000_000, lognormal(1.0, 0.5), workers=20_000),
}
"""The benchmark workloads, by name (`seed-burst`, `heavy-tail`, `trickle`,
`million`)."""

RATE_LIMITS: Final[dict[str, RateLimit | None]] = {
    "none": None,
    "limited": RateLimit(per_second=10_000 / 60, burst=500),
}
"""The benchmark rate limits, by name: `none`, and `limited` (10,000 requests a
minute, burst 500)."""

APIS: Final = ("full", "sdk-only")
"""The simulated APIs: `full` has every batch route, the long-poll wait and the
feed; `sdk-only` has submit and get only."""


def workload(name: str) -> Workload:
    """The benchmark workload of that name.

    Raises:
        ConfigError: No workload has that name; the message lists those that do.
    """
    if name not in WORKLOADS:
        known = ", ".join(WORKLOADS)
        raise ConfigError(f"unknown workload {name!r}; known: {known}")
    return WORKLOADS[name]


def floor_requests(jobs: int, api: str, batch_limit: int = 1000) -> int:
    """The fewest requests an API allows: submits plus result reads.

    With batches, both go at the largest batch size; without, two per job.

    Args:
        jobs: How many jobs.
        api: `"full"` or `"sdk-only"`.
        batch_limit: The most requests or ids one batch takes.
    """
    if api == "sdk-only":
        return 2 * jobs
    return 2 * math.ceil(jobs / batch_limit)
