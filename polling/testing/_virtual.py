"""Running code in virtual time: anyio on trio with trio's `MockClock`."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import Any, TypeVar, TypeVarTuple

import anyio
import trio.testing

from .._engine import Poller
from .._types import Outcome

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


def seed_trio_scheduler(seed: int) -> None:
    """Make trio's choice of which ready task runs first repeat for a seed.

    Trio shuffles ready tasks on purpose, from a generator of its own that it
    otherwise seeds only for Hypothesis (through `hypothesis.register_random`).
    Seeding that generator is what makes a simulated run repeat to the request.
    """
    # Trio has no public way to seed its scheduler; `_r` is its generator.
    from trio._core import _run

    _run._r.seed(seed)


def mock_clock(seed: int = 0) -> trio.testing.MockClock:
    """A clock that jumps to the next deadline whenever every task is blocked.

    Also seeds trio's scheduler (see `seed_trio_scheduler`), so that a run on the
    clock repeats for a seed.
    """
    seed_trio_scheduler(seed)
    return trio.testing.MockClock(autojump_threshold=0)


def run_virtual(func: Callable[[*Ts], Awaitable[T]], *args: *Ts, seed: int = 0) -> T:
    """Run `func(*args)` to its end in virtual time and return what it returns.

    Sleeps take no real time: hours of polling take milliseconds, and every
    `anyio.current_time()` reading is exact and repeats for a seed.

    Args:
        func: The async function to run.
        *args: Its positional arguments.
        seed: Seeds trio's scheduler.
    """
    return anyio.run(
        func, *args, backend="trio", backend_options={"clock": mock_clock(seed)}
    )


def run_in_virtual_time(
    poller: Poller, requests: Iterable[Any] | AsyncIterable[Any], *, seed: int = 0
) -> list[Outcome]:
    """Run `poller.collect(requests)` in virtual time; outcomes in input order.

    After the run, `poller.report` holds its report, with virtual wall time.

    Args:
        poller: The poller to run, usually on a `SimulatedJobStore`.
        requests: The requests to submit.
        seed: Seeds trio's scheduler; seed the store and the poller yourself.
    """
    return run_virtual(poller.collect, requests, seed=seed)
