"""The request budget: backoff, pacing, in-flight limit, pauses, on a mock clock."""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from polling import (
    Backoff,
    Budget,
    ConfigError,
    RateLimit,
    RateLimited,
    RequestKind,
    TransientError,
)
from polling.testing import run_virtual

GET = RequestKind.GET


@given(
    retry=st.integers(0, 40),
    initial=st.floats(0.01, 10.0),
    cap=st.floats(0.01, 100.0),
    seed=st.integers(0, 2**32),
)
def test_backoff_delay_stays_within_the_full_jitter_window(
    retry: int, initial: float, cap: float, seed: int
) -> None:
    """Retry n waits between 0 and min(cap, initial * 2**n)."""
    delay = Backoff(initial=initial, cap=cap).delay(retry, random.Random(seed))
    assert 0.0 <= delay <= min(cap, initial * 2.0**retry)


def test_backoff_delay_is_capped_at_any_retry_number() -> None:
    """Even a retry number whose power of two overflows a float waits at most cap."""
    delay = Backoff(initial=1.0, cap=30.0).delay(5000, random.Random(0))
    assert 0.0 <= delay <= 30.0


def test_backoff_spreads_delays_over_the_whole_window() -> None:
    """Full jitter: draws cover the window from near 0 to near its top."""
    rng = random.Random(0)
    delays = [Backoff(initial=1.0).delay(3, rng) for _ in range(2000)]
    assert min(delays) < 0.1
    assert max(delays) > 7.9


@pytest.mark.parametrize("field", ["initial", "cap", "attempts"])
def test_backoff_refuses_a_zero_parameter_by_name(field: str) -> None:
    """A zero backoff parameter is a ConfigError that names it."""
    with pytest.raises(ConfigError, match=field):
        Backoff(**{field: 0})


def test_budget_refuses_a_zero_in_flight_limit() -> None:
    """An in-flight limit below 1 is a ConfigError that names it."""
    with pytest.raises(ConfigError, match="max_in_flight"):
        Budget(max_in_flight=0)


def _send_times(budget: Budget, count: int, gap: float = 0.0) -> list[float]:
    """When each of `count` requests started together was sent, from the start."""

    async def scenario() -> list[float]:
        start = anyio.current_time()
        times: list[float] = []

        async def send() -> None:
            times.append(anyio.current_time() - start)

        async def one() -> None:
            await budget.call(GET, send)

        async with anyio.create_task_group() as group:
            for _ in range(count):
                group.start_soon(one)
        if gap:
            await anyio.sleep(gap)
            async with anyio.create_task_group() as group:
                for _ in range(count):
                    group.start_soon(one)
        return times

    return run_virtual(scenario)


def test_pacing_sends_one_request_per_interval() -> None:
    """At 10 a second without burst, requests go exactly 0.1 s apart."""
    budget = Budget(max_in_flight=None, rate=RateLimit(per_second=10.0))
    times = _send_times(budget, 5)
    assert times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4], abs=1e-9)


def test_pacing_lets_a_burst_through_at_once() -> None:
    """With a burst of 3, three requests go at once and the rest at the pace."""
    budget = Budget(max_in_flight=None, rate=RateLimit(per_second=10.0, burst=3))
    times = _send_times(budget, 5)
    assert times == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2], abs=1e-9)


def test_pacing_refills_the_burst_after_a_quiet_spell() -> None:
    """After ten idle seconds, a burst goes at once again."""
    budget = Budget(max_in_flight=None, rate=RateLimit(per_second=10.0, burst=3))
    times = _send_times(budget, 3, gap=10.0)
    assert times == pytest.approx([0.0, 0.0, 0.0, 10.0, 10.0, 10.0], abs=1e-9)


def test_in_flight_limit_holds_requests_back_until_one_returns() -> None:
    """With two in flight at most, five one-second requests end at 1, 1, 2, 2, 3."""
    budget = Budget(max_in_flight=2)
    ends: list[float] = []

    async def scenario() -> None:
        async def send() -> None:
            await anyio.sleep(1.0)
            ends.append(anyio.current_time())

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(budget.call, GET, send)

    run_virtual(scenario)
    assert ends == [1.0, 1.0, 2.0, 2.0, 3.0]


def _failing(
    times: list[float], errors: list[Exception]
) -> Callable[[], Awaitable[str]]:
    """A send that records its time and raises the next error, then answers."""

    async def send() -> str:
        times.append(anyio.current_time())
        if errors:
            raise errors.pop(0)
        return "answer"

    return send


def test_transient_failures_are_retried_after_jittered_backoff() -> None:
    """Two connect errors are retried after the seeded full-jitter delays exactly."""
    times: list[float] = []
    send = _failing(times, [TransientError("reset", sent=False)] * 2)
    budget = Budget(backoff=Backoff(initial=0.5), rng=random.Random(7))
    answer = run_virtual(budget.call, GET, send)
    expected = random.Random(7)
    first = expected.uniform(0.0, 0.5)
    second = first + expected.uniform(0.0, 1.0)
    assert answer == "answer"
    assert times == pytest.approx([0.0, first, second], abs=1e-9)
    assert budget.retries == 2


def test_request_that_may_have_arrived_is_not_resent_when_unsafe() -> None:
    """A sent request that failed is raised at once when it must not be resent."""
    times: list[float] = []
    send = _failing(times, [TransientError("lost", sent=True)])
    budget = Budget()

    async def scenario() -> None:
        await budget.call(GET, send, retry_sent=False)

    with pytest.raises(TransientError, match="lost"):
        run_virtual(scenario)
    assert times == [0.0]


def test_transient_failure_is_raised_after_the_last_attempt() -> None:
    """A failure that persists is sent `attempts` times, then raised."""
    times: list[float] = []
    send = _failing(times, [TransientError("503")] * 10)
    budget = Budget(backoff=Backoff(attempts=3))
    with pytest.raises(TransientError, match="503"):
        run_virtual(budget.call, GET, send)
    assert len(times) == 3


def test_retry_after_delays_the_resend_by_exactly_that_long() -> None:
    """A 429 asking for 2.5 s is sent again exactly 2.5 s later."""
    times: list[float] = []
    send = _failing(times, [RateLimited("429", retry_after=2.5)])
    budget = Budget()
    run_virtual(budget.call, GET, send)
    assert times == [0.0, 2.5]
    assert budget.rejected == 1


def test_retry_after_holds_back_every_other_request() -> None:
    """While a 429's pause lasts, a request from elsewhere waits for its end too."""
    times: list[float] = []
    rejected = _failing([], [RateLimited("429", retry_after=3.0)])
    budget = Budget()

    async def other() -> None:
        await anyio.sleep(1.0)
        await budget.call(GET, _failing(times, []))

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(budget.call, GET, rejected)
            group.start_soon(other)

    run_virtual(scenario)
    assert times == [3.0]


@pytest.mark.parametrize("retry_after", [None, -1.0, math.nan, math.inf, 1e9], ids=repr)
def test_unusable_retry_after_falls_back_to_capped_backoff(
    retry_after: float | None,
) -> None:
    """A missing, negative, endless or huge Retry-After waits a backoff instead."""
    times: list[float] = []
    send = _failing(times, [RateLimited("429", retry_after=retry_after)])
    budget = Budget(backoff=Backoff(initial=2.0), rng=random.Random(3))
    run_virtual(budget.call, GET, send)
    assert times == pytest.approx([0.0, random.Random(3).uniform(0.0, 2.0)])


def test_retry_after_beyond_the_longest_pause_is_not_honoured() -> None:
    """A Retry-After just over `max_pause` falls back to the backoff."""
    times: list[float] = []
    send = _failing(times, [RateLimited("429", retry_after=121.0)])
    budget = Budget(backoff=Backoff(initial=1.0), max_pause=120.0)
    run_virtual(budget.call, GET, send)
    assert times[1] <= 1.0


def test_rate_limited_is_raised_after_the_last_attempt() -> None:
    """A 429 that keeps coming is raised once every attempt is spent."""
    times: list[float] = []
    send = _failing(times, [RateLimited("429", retry_after=1.0)] * 5)
    budget = Budget(backoff=Backoff(attempts=2))
    with pytest.raises(RateLimited):
        run_virtual(budget.call, GET, send)
    assert times == [0.0, 1.0]


def test_budget_counts_requests_by_kind() -> None:
    """Every attempt is counted under its kind, retries included."""
    send = _failing([], [TransientError("reset", sent=False)])
    budget = Budget()
    run_virtual(budget.call, RequestKind.BATCH_STATUS, send)
    assert budget.sent == {RequestKind.BATCH_STATUS: 2}
