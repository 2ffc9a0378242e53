"""`Retry-After`: honoured in both forms, the latest one winning, bad ones bounded."""

from __future__ import annotations

import email.utils
import itertools
import time
from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest
from faultkit import DONE, OneJobServer, job, refusal

from polling import Backoff, Budget, OutcomeKind, Poller, RateLimited, RequestKind
from polling.testing import run_virtual

RUNNING = job("in_progress", started_at=0.0)
COMPLETED = job("completed", **DONE)


def _limited(retry_after: str, status: int = 429) -> httpx.Response:
    return refusal(status, "rate_limited", "slow down", **{"Retry-After": retry_after})


def _gets_around(answer: httpx.Response, **poller: object) -> tuple[float, list[float]]:
    """Running, then `answer`, then done: the gap the answer made, and every get."""
    server = OneJobServer([RUNNING, answer, COMPLETED])
    collector = Poller(
        server.api(),
        "semaphore:interval=1",
        deadline=600,
        progress=False,
        seed=0,
        **poller,  # type: ignore[arg-type]  # Poller's own keyword arguments
    )
    [outcome] = run_virtual(collector.collect, [{"model": "Naive"}])
    assert outcome.kind is OutcomeKind.COMPLETED
    gets = server.gets
    assert len(gets) == 3
    return gets[2] - gets[1], gets


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_waited_exactly(status: int) -> None:
    """A 429 or a 503 saying `Retry-After: 7` is asked again 7 s later, no sooner."""
    gap, _ = _gets_around(_limited("7", status))
    assert gap == pytest.approx(7.0, abs=1e-9)


def test_retry_after_as_an_http_date_is_waited_until_that_date() -> None:
    """`Retry-After: <date 3 s ahead>` waits until then: 2 to 3 s, the date being
    whole seconds on the wire, less any real time spent before it was read."""
    ahead = email.utils.formatdate(time.time() + 3, usegmt=True)
    gap, _ = _gets_around(_limited(ahead))
    assert 1.0 <= gap <= 3.0


@pytest.mark.parametrize(
    "header", ["soon", "-5", "86400000", "Wed, 99 Foo 2026", "nan"]
)
def test_an_unusable_retry_after_falls_back_to_the_backoff(header: str) -> None:
    """Garbage, negative and huge values wait a first backoff (at most 0.5 s)."""
    gap, _ = _gets_around(_limited(header))
    assert 0.0 <= gap <= 0.5


def test_a_run_of_unusable_retry_afters_waits_at_most_the_cap_each() -> None:
    """Twelve 429s asking for a day each: every wait is within the 4 s cap."""
    huge = _limited("86400")
    server = OneJobServer([RUNNING, *[huge] * 12, COMPLETED])
    poller = Poller(
        server.api(),
        "semaphore:interval=1",
        deadline=600,
        progress=False,
        backoff=Backoff(initial=0.5, cap=4.0),
        seed=0,
    )

    [outcome] = run_virtual(poller.collect, [{"model": "Naive"}])

    assert outcome.kind is OutcomeKind.COMPLETED
    gets = server.gets
    assert len(gets) == 14
    waits = [later - earlier for earlier, later in itertools.pairwise(gets[1:])]
    assert max(waits) <= 4.0
    assert poller.report is not None
    assert poller.report.rejected == 12


def test_the_latest_retry_after_wins_over_an_earlier_longer_one() -> None:
    """A 429 asking for 10 s, then one asking for 2 s: every request, the first
    one's retry included, goes again at 2.2 s, when the later answer said."""
    budget = Budget()
    sent: dict[str, list[float]] = {"first": [], "second": [], "newcomer": []}

    def refused_once(
        name: str, answer_after: float, retry_after: float
    ) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            sent[name].append(anyio.current_time())
            if len(sent[name]) == 1:
                await anyio.sleep(answer_after)
                raise RateLimited("429", retry_after=retry_after)

        return send

    async def newcomer() -> None:
        async def send() -> None:
            sent["newcomer"].append(anyio.current_time())

        await anyio.sleep(1.0)
        await budget.call(RequestKind.GET, send)

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(
                budget.call, RequestKind.GET, refused_once("first", 0.1, 10)
            )
            group.start_soon(
                budget.call, RequestKind.GET, refused_once("second", 0.2, 2)
            )
            group.start_soon(newcomer)

    run_virtual(scenario)

    assert sent["first"] == pytest.approx([0.0, 2.2])
    assert sent["second"] == pytest.approx([0.0, 2.2])
    assert sent["newcomer"] == pytest.approx([2.2])
    assert budget.rejected == 2
