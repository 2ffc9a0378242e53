"""What the project's own tests use, for testing strategies of your own.

- `SimulatedJobStore`: a `JobAPI` in process, with a worker pool, failures,
  expiry, a rate limit and injected `Faults`, that counts every request it gets.
- `run_in_virtual_time`, `run_virtual`, `mock_clock`: run a poller or any async
  function on trio's `MockClock`, so hours of polling take milliseconds and every
  time and count repeats for a seed.
- `check_outcomes`, `check_no_duplicates`, `check_in_flight`, `check_rate`,
  `check_pauses`, `check_staleness`: the invariants every strategy must hold, as
  functions that raise `AssertionError` with the job and the numbers.
- `workloads`, `faults`, `rate_limits`, `store_configs`, `stores`: Hypothesis
  strategies that draw small simulated worlds to check them on.
- `Workload`, `WORKLOADS`, `workload`, `floor_requests`: the benchmark
  populations, for tests at scale.

A custom strategy is property-tested in a few lines:

    @hypothesis.given(sim=polling.testing.stores())
    def test_every_job_ends_once(sim):
        poller = polling.Poller(sim.store, MyStrategy(), progress=False)
        outcomes = polling.testing.run_in_virtual_time(poller, sim.requests)
        polling.testing.check_outcomes(outcomes, sim.requests)
        polling.testing.check_no_duplicates(sim.store)

The Hypothesis strategies need the `testing` extra (`pip install
'pollstack[testing]'`); they are imported on first use, so the rest of this
module works without Hypothesis. `docs/testing.md` is the guide.
"""

import typing

from ._checks import (
    check_in_flight,
    check_no_duplicates,
    check_outcomes,
    check_pauses,
    check_rate,
    check_staleness,
)
from ._sim import Faults, SimulatedJobStore
from ._virtual import mock_clock, run_in_virtual_time, run_virtual, seed_trio_scheduler
from ._workloads import (
    APIS,
    RATE_LIMITS,
    WORKLOADS,
    Population,
    Workload,
    floor_requests,
    lognormal,
    uniform,
    workload,
)

if typing.TYPE_CHECKING:
    from ._hypothesis import (
        JobSet,
        Simulation,
        StoreConfig,
        faults,
        rate_limits,
        store_configs,
        stores,
        workloads,
    )

_FROM_HYPOTHESIS = frozenset(
    {
        "JobSet",
        "Simulation",
        "StoreConfig",
        "faults",
        "rate_limits",
        "store_configs",
        "stores",
        "workloads",
    }
)

__all__ = [
    "APIS",
    "RATE_LIMITS",
    "WORKLOADS",
    "Faults",
    "JobSet",
    "Population",
    "SimulatedJobStore",
    "Simulation",
    "StoreConfig",
    "Workload",
    "check_in_flight",
    "check_no_duplicates",
    "check_outcomes",
    "check_pauses",
    "check_rate",
    "check_staleness",
    "faults",
    "floor_requests",
    "lognormal",
    "mock_clock",
    "rate_limits",
    "run_in_virtual_time",
    "run_virtual",
    "seed_trio_scheduler",
    "store_configs",
    "stores",
    "uniform",
    "workload",
    "workloads",
]


def __getattr__(name: str) -> typing.Any:
    """Import the Hypothesis strategies on first use."""
    if name in _FROM_HYPOTHESIS:
        from . import _hypothesis

        return getattr(_hypothesis, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, the lazily imported ones included."""
    return sorted({*globals(), *_FROM_HYPOTHESIS})
