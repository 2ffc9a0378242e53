"""What the project's own tests use, for testing strategies of your own.

The simulated job store runs in virtual time (anyio on trio's `MockClock`), the
workloads are those of the benchmarks, and the checks assert the invariants every
strategy must hold.
"""

from ._sim import Faults, SimulatedJobStore
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

__all__ = [
    "APIS",
    "RATE_LIMITS",
    "WORKLOADS",
    "Faults",
    "Population",
    "SimulatedJobStore",
    "Workload",
    "floor_requests",
    "lognormal",
    "uniform",
    "workload",
]
