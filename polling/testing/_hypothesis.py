"""Hypothesis strategies for property tests of polling strategies.

They draw small simulated worlds (a few dozen jobs, short runs, low fault rates) so
that a property test runs hundreds of examples in virtual time within seconds, and
shrinks a failure to a handful of jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import strategies as st

from .._api import RateLimit
from ._sim import Faults, SimulatedJobStore
from ._workloads import APIS


@attrs.frozen
class JobSet:
    """A small population of simulated jobs. Request `i` is the integer `i`.

    Args:
        durations: How long each job runs once a worker takes it, seconds.
        failing: The jobs that fail.
        workers: Jobs the store runs at once, the rest queued FIFO; None for no
            queue.
    """

    durations: tuple[float, ...]
    failing: frozenset[int] = frozenset()
    workers: int | None = None

    def __len__(self) -> int:
        """How many jobs."""
        return len(self.durations)

    @property
    def requests(self) -> list[int]:
        """The requests to submit, in order."""
        return list(range(len(self.durations)))

    def store(self, **options: Any) -> SimulatedJobStore:
        """A simulated store that runs exactly these jobs.

        Args:
            **options: Any other argument of `SimulatedJobStore`.
        """
        return SimulatedJobStore(
            duration_of=self.durations.__getitem__,
            fails_of=self.failing.__contains__,
            workers=self.workers,
            **options,
        )


@attrs.frozen
class StoreConfig:
    """How a simulated store behaves, apart from its jobs.

    Args:
        api: `"full"` or `"sdk-only"`.
        rate_limit: The store's own limit; None for none.
        faults: What to inject; None for nothing.
        seed: Seeds the faults.
    """

    api: str = "full"
    rate_limit: RateLimit | None = None
    faults: Faults | None = None
    seed: int = 0

    def options(self) -> dict[str, Any]:
        """The arguments of `SimulatedJobStore`, with every check recorded."""
        return {
            "api": self.api,
            "rate_limit": self.rate_limit,
            "faults": self.faults,
            "seed": self.seed,
            "record_checks": True,
        }


@attrs.define
class Simulation:
    """A drawn store with the jobs it runs: what `stores()` generates.

    Args:
        jobs: The population the store runs.
        config: The settings the store was made with.
        store: The store itself, recording every check, fresh for each example.
    """

    jobs: JobSet
    config: StoreConfig
    store: SimulatedJobStore

    @property
    def requests(self) -> list[int]:
        """The requests to submit, in order."""
        return self.jobs.requests


def workloads(
    *,
    min_jobs: int = 0,
    max_jobs: int = 60,
    max_duration: float = 60.0,
    failures: bool = True,
    queue: bool = True,
) -> st.SearchStrategy[JobSet]:
    """Small populations of jobs.

    Args:
        min_jobs: The fewest jobs.
        max_jobs: The most jobs.
        max_duration: The longest a job runs, seconds.
        failures: Whether some jobs may fail.
        queue: Whether the store may run jobs through a small FIFO worker pool.
    """
    return _job_sets(min_jobs, max_jobs, max_duration, failures, queue)


@st.composite
def _job_sets(
    draw: st.DrawFn,
    min_jobs: int,
    max_jobs: int,
    max_duration: float,
    failures: bool,
    queue: bool,
) -> JobSet:
    durations = draw(
        st.lists(
            st.floats(0.0, max_duration, allow_nan=False, allow_infinity=False),
            min_size=min_jobs,
            max_size=max_jobs,
        )
    )
    failing: frozenset[int] = frozenset()
    if failures and durations:
        indices = st.integers(0, len(durations) - 1)
        failing = draw(st.frozensets(indices, max_size=len(durations)))
    workers = draw(st.none() | st.integers(1, 10)) if queue else None
    return JobSet(tuple(durations), failing, workers)


def _probability(most: float) -> st.SearchStrategy[float]:
    return st.just(0.0) | st.floats(0.001, most)


def faults(
    *,
    max_probability: float = 0.2,
    transport_error: bool = True,
    server_error: bool = True,
    lost_response: bool = True,
    rate_limited: bool = True,
    slow: bool = True,
    late_answer: bool = True,
) -> st.SearchStrategy[Faults]:
    """Injected faults, each with a small probability per request.

    Args:
        max_probability: The highest probability of any one fault.
        transport_error: Whether requests may fail before reaching the store.
        server_error: Whether the store may answer 503.
        lost_response: Whether an answer may be lost after the work was done.
        rate_limited: Whether the store may answer 429, with a `Retry-After` of
            up to 5 s or none.
        slow: Whether requests may reach the store up to 5 s late.
        late_answer: Whether answers may come back up to 5 s after the store
            did the work (a job may be seen finished before its submit returns).
    """

    def maybe(wanted: bool) -> st.SearchStrategy[float]:
        return _probability(max_probability) if wanted else st.just(0.0)

    return st.builds(
        Faults,
        transport_error=maybe(transport_error),
        server_error=maybe(server_error),
        lost_response=maybe(lost_response),
        rate_limited=maybe(rate_limited),
        retry_after=st.none() | st.floats(0.1, 5.0),
        slow=maybe(slow),
        slow_by=st.floats(0.1, 5.0),
        late_answer=maybe(late_answer),
        late_by=st.floats(0.1, 5.0),
    )


def rate_limits() -> st.SearchStrategy[RateLimit]:
    """Rate limits low enough that a few dozen jobs run into them.

    From 1 to 100 requests a second, with a burst of 1 to 20.
    """
    return st.builds(
        RateLimit, per_second=st.floats(1.0, 100.0), burst=st.integers(1, 20)
    )


def store_configs(
    *,
    apis: Sequence[str] = APIS,
    rate_limit: st.SearchStrategy[RateLimit | None] | None = None,
    faults: st.SearchStrategy[Faults | None] | None = None,
) -> st.SearchStrategy[StoreConfig]:
    """Store settings: API, rate limit, faults and seed.

    Args:
        apis: The APIs to draw from (`"full"`, `"sdk-only"`).
        rate_limit: The store's limits; by default none or one of
            `rate_limits()`.
        faults: The faults; by default none. Pass `faults()` for drawn ones.
    """
    return st.builds(
        StoreConfig,
        api=st.sampled_from(tuple(apis)),
        rate_limit=st.none() | rate_limits() if rate_limit is None else rate_limit,
        faults=st.none() if faults is None else faults,
        seed=st.integers(0, 2**32 - 1),
    )


def stores(
    jobs: st.SearchStrategy[JobSet] | None = None,
    configs: st.SearchStrategy[StoreConfig] | None = None,
) -> st.SearchStrategy[Simulation]:
    """Simulated stores that record every check, with the jobs they run.

    Args:
        jobs: The populations; by default `workloads()`.
        configs: The settings; by default `store_configs()`.
    """
    return st.builds(
        _simulation,
        workloads() if jobs is None else jobs,
        store_configs() if configs is None else configs,
    )


def _simulation(jobs: JobSet, config: StoreConfig) -> Simulation:
    return Simulation(jobs, config, jobs.store(**config.options()))
