"""What careless use meets: clear errors, and one bad request failing only itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from polling import (
    ConfigError,
    JobId,
    OutcomeKind,
    Poller,
    RejectedError,
    TransientError,
    strategy_from,
)
from polling.testing import (
    SimulatedJobStore,
    check_no_duplicates,
    run_in_virtual_time,
)


class RefusesBad(SimulatedJobStore):
    """A store that refuses, whole, any batch holding the request "bad"."""

    async def submit_many(
        self, requests: Sequence[Any], *, idempotency_keys: Sequence[str | None]
    ) -> list[JobId]:
        if "bad" in requests:
            await super().get(JobId("-"))
            raise RejectedError("422: requests.7.model is not a model")
        return await super().submit_many(requests, idempotency_keys=idempotency_keys)


def test_one_refused_request_fails_only_itself() -> None:
    """A batch refused for one request is split until that request stands alone."""
    store = RefusesBad(record_checks=True)
    requests: list[Any] = [*range(7), "bad", *range(8, 40)]
    poller = Poller(store, "stack", progress=False)

    outcomes = run_in_virtual_time(poller, requests)

    failed = [outcome.index for outcome in outcomes if not outcome.ok]
    assert failed == [7]
    assert outcomes[7].kind is OutcomeKind.FAILED
    assert outcomes[7].error is not None and "requests.7.model" in outcomes[7].error
    check_no_duplicates(store)


def test_a_strategy_may_be_given_by_name() -> None:
    """`Poller(api, "stack:target_delay=5")` builds the strategy from its spec."""
    poller = Poller(SimulatedJobStore(), "stack:target_delay=5")

    assert poller.strategy == strategy_from("stack:target_delay=5")


@pytest.mark.parametrize("api", [None, "http://localhost", object()])
def test_something_that_is_no_job_api_is_refused(api: Any) -> None:
    """An api without the JobAPI methods is refused at once, by name."""
    with pytest.raises(ConfigError, match="api must be a JobAPI"):
        Poller(api, "naive")


@pytest.mark.parametrize("requests", [None, 5, "abc"])
def test_requests_that_are_not_a_collection_are_refused(requests: Any) -> None:
    """collect_sync(None) says what it needed, not a TypeError from inside."""
    poller = Poller(SimulatedJobStore(), "naive", progress=False)

    with pytest.raises(ConfigError, match="requests must be an iterable"):
        poller.collect_sync(requests)


def test_a_store_serves_one_run_after_another() -> None:
    """The same store and poller run again from a new event loop (a notebook)."""
    store = SimulatedJobStore(duration_of=lambda request: 0.05)
    poller = Poller(store, "stack", progress=False)

    first = poller.collect_sync(range(3))
    second = poller.collect_sync(range(3, 6))

    assert [o.result for o in first + second] == list(range(6))


def test_the_summary_says_when_there_was_no_delay_to_measure() -> None:
    """A run where nothing completed reports no delay, not a delay of zero."""
    poller = Poller(SimulatedJobStore(), "naive", progress=False)

    run_in_virtual_time(poller, [])

    assert poller.report is not None
    assert "detection delay: none" in poller.report.summary()


class FlakyConnect(SimulatedJobStore):
    """A store whose capability document fails twice before it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def connect(self) -> None:
        self.attempts += 1
        if self.attempts < 3:
            raise TransientError("connection refused", sent=False)


def test_connecting_is_retried_like_any_transient_failure() -> None:
    """A refused connection to the capability document is retried with backoff."""
    store = FlakyConnect()
    poller = Poller(store, "stack", progress=False)

    outcomes = run_in_virtual_time(poller, range(4))

    assert store.attempts == 3
    assert all(outcome.ok for outcome in outcomes)
