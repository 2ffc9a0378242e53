"""Bad settings are refused at once, with an error that names them."""

from __future__ import annotations

import math
from typing import Any

import pytest

from polling import Capabilities, ConfigError, Poller, RateLimit
from polling.testing import SimulatedJobStore, workload
from strategies import Naive, PerJobBackoff


def _poller(**options: Any) -> Poller:
    return Poller(SimulatedJobStore(), Naive(), progress=False, **options)


@pytest.mark.parametrize("value", [0, -1.5, math.nan])
def test_deadline_that_is_not_positive_is_refused(value: float) -> None:
    """A zero, negative or NaN deadline is a ConfigError naming `deadline`."""
    with pytest.raises(ConfigError, match="deadline must be positive"):
        _poller(deadline=value)


def test_deadline_of_the_wrong_type_is_refused() -> None:
    """A deadline given as a string is a ConfigError naming it and its type."""
    with pytest.raises(ConfigError, match="deadline must be a number, got str"):
        _poller(deadline="10")


@pytest.mark.parametrize("value", [0, -3])
def test_in_flight_limit_below_one_is_refused(value: int) -> None:
    """An in-flight limit of zero or less is a ConfigError naming it."""
    with pytest.raises(ConfigError, match="max_in_flight must be at least 1"):
        _poller(max_in_flight=value)


@pytest.mark.parametrize("value", [2.5, True, "8"])
def test_in_flight_limit_that_is_no_whole_number_is_refused(value: object) -> None:
    """A fractional, boolean or string limit is refused, naming it."""
    with pytest.raises(ConfigError, match="max_in_flight must be a whole number"):
        _poller(max_in_flight=value)


def test_no_deadline_and_no_limit_are_allowed() -> None:
    """None means no deadline and no in-flight limit."""
    poller = _poller(deadline=None, max_in_flight=None)
    assert (poller.deadline, poller.max_in_flight) == (None, None)


@pytest.mark.parametrize("interval", [0, -2.0])
def test_naive_interval_that_is_not_positive_is_refused(interval: float) -> None:
    """The naive loop's interval must be positive."""
    with pytest.raises(ConfigError, match="interval must be positive"):
        Naive(interval=interval)


@pytest.mark.parametrize("field", ["initial", "cap"])
def test_backoff_strategy_parameter_that_is_not_positive_is_refused(
    field: str,
) -> None:
    """Per-job backoff's initial wait and cap must be positive."""
    with pytest.raises(ConfigError, match=f"{field} must be positive"):
        PerJobBackoff(**{field: -1.0})


def test_rate_limit_that_is_not_positive_is_refused() -> None:
    """A rate of zero requests a second is a ConfigError naming `per_second`."""
    with pytest.raises(ConfigError, match="per_second must be positive"):
        RateLimit(per_second=0)


def test_capability_limit_that_is_not_positive_is_refused() -> None:
    """A batch size of zero is a ConfigError naming the capability."""
    with pytest.raises(ConfigError, match="batch_status must be positive"):
        Capabilities(batch_status=0)


def test_unknown_workload_is_refused_listing_the_known_ones() -> None:
    """An unknown workload name lists the workloads there are."""
    with pytest.raises(ConfigError, match="unknown workload 'tiny'; known: seed-burst"):
        workload("tiny")


def test_unknown_simulated_api_is_refused() -> None:
    """The simulated store knows two APIs and names them."""
    with pytest.raises(ValueError, match="'full' or 'sdk-only'"):
        SimulatedJobStore(api="graphql")
