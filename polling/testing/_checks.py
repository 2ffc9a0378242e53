"""Checks of the invariants every strategy must hold, for a user's own tests.

Each takes what a run left behind (its outcomes, the simulated store's records)
and raises `AssertionError` with a message that names the job and the numbers, so
that a failing property test says what went wrong without a debugger.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from .._api import RateLimit
from .._types import JobId, Outcome, OutcomeKind
from ._sim import SimulatedJobStore

_EPSILON = 1e-6
"""Slack for sums of floating-point times, far below any real difference."""


def check_outcomes(
    outcomes: Sequence[Outcome], requests: Sequence[Any], *, echo: bool = True
) -> None:
    """Every request has exactly one outcome, and each result is its own.

    Args:
        outcomes: What the poller returned.
        requests: What it was given, in order.
        echo: Whether a completed job's result is its request, as in the
            simulated store; False skips that check.

    Raises:
        AssertionError: An outcome is missing, doubled, out of range, or carries
            another job's result or job id.
    """
    kinds: dict[int, list[OutcomeKind]] = {}
    owner: dict[JobId, int] = {}
    for outcome in outcomes:
        index = outcome.index
        if not 0 <= index < len(requests):
            raise AssertionError(
                f"an outcome for job {index}, but only {len(requests)} were given"
            )
        kinds.setdefault(index, []).append(outcome.kind)
        if outcome.job_id is not None:
            other = owner.setdefault(outcome.job_id, index)
            if other != index:
                raise AssertionError(
                    f"job id {outcome.job_id} is the outcome of jobs {other} "
                    f"and {index}"
                )
        if echo and outcome.ok and outcome.result != requests[index]:
            raise AssertionError(
                f"job {index} ({outcome.job_id}) completed with result "
                f"{outcome.result!r}, but its request was {requests[index]!r}"
            )
    for index, ends in sorted(kinds.items()):
        if len(ends) > 1:
            listed = ", ".join(kind.value for kind in ends)
            raise AssertionError(f"job {index} has {len(ends)} outcomes: {listed}")
    missing = [index for index in range(len(requests)) if index not in kinds]
    if missing:
        shown = ", ".join(map(str, missing[:10]))
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise AssertionError(
            f"{len(missing)} of {len(requests)} jobs have no outcome: {shown}{more}"
        )


def check_no_duplicates(store: SimulatedJobStore) -> None:
    """No request was created as more than one job.

    The store counts jobs by request, so the requests of a run must be distinct.

    Raises:
        AssertionError: A request was submitted as two jobs or more.
    """
    doubled = [(request, n) for request, n in store.created.items() if n > 1]
    if doubled:
        request, count = doubled[0]
        raise AssertionError(
            f"request {request!r} was created as {count} jobs "
            f"({len(doubled)} requests created more than once)"
        )


def check_in_flight(store: SimulatedJobStore, limit: int) -> None:
    """The store never had more than `limit` requests on their way at once.

    Raises:
        AssertionError: It had more.
    """
    if store.max_in_flight > limit:
        raise AssertionError(
            f"the store saw {store.max_in_flight} requests in flight at once, "
            f"over the limit of {limit}"
        )


def check_rate(store: SimulatedJobStore, rate: RateLimit) -> None:
    """Requests reached the store no faster than `rate` allows, burst included.

    In any stretch of time of length `w`, at most `burst + per_second * w`
    requests may arrive: the allowance of a token bucket that starts full. The
    store must record arrivals (`record_checks=True`). Slow answers delay some
    requests and bunch others, so leave them out of faults when checking this.

    Raises:
        AssertionError: Some stretch held more; the message names it.
    """
    _require_records(store)
    arrivals = sorted(store.arrivals)
    # Arrivals i..j are too many when (j - i + 1) > burst + r * (t_j - t_i), that
    # is g(j) - g(i) + 1 > burst with g(k) = k - r * t_k: one pass with the
    # running minimum of g finds the worst stretch ending at each arrival.
    lowest, lowest_at = float("inf"), 0
    for index, time in enumerate(arrivals):
        g = index - rate.per_second * time
        if g < lowest:
            lowest, lowest_at = g, index
        count = index - lowest_at + 1
        window = time - arrivals[lowest_at]
        allowed = rate.burst + rate.per_second * window
        if count > allowed + _EPSILON:
            raise AssertionError(
                f"{count} requests reached the store in {window:.4f}s (from "
                f"t={arrivals[lowest_at]:.4f}s to t={time:.4f}s), more than "
                f"the {allowed:.2f} that {rate.per_second:g} a second with a "
                f"burst of {rate.burst} allows"
            )


def check_pauses(store: SimulatedJobStore, retry_after: float) -> None:
    """After each 429, no request reached the store until `retry_after` had passed.

    Requests already on their way when the 429 was sent may still arrive, within
    one round trip of it; every request sent after it must wait out the pause.
    The store must record arrivals (`record_checks=True`), without slow answers.

    Args:
        store: The store the run used.
        retry_after: The `Retry-After` every 429 of the run carried, seconds (as
            `Faults.retry_after` sets it).

    Raises:
        AssertionError: A request arrived during a pause.
    """
    _require_records(store)
    trip = store.round_trip
    for rejected_at in store.rejections:
        opens, closes = rejected_at + trip, rejected_at + retry_after + trip
        for arrived in store.arrivals:
            if opens + _EPSILON < arrived < closes - _EPSILON:
                raise AssertionError(
                    f"a request arrived at t={arrived:.4f}s, during the pause "
                    f"of {retry_after:g}s asked for by the 429 at "
                    f"t={rejected_at:.4f}s"
                )


def check_staleness(
    store: SimulatedJobStore, outcomes: Sequence[Outcome], cap: float
) -> None:
    """No job went longer than `cap` seconds without being checked.

    A job counts as checked whenever the store answered about it, or answered
    the completion feed, which covers every job. Its stretch runs from its
    submission to the first check that found it finished (or its last check, if
    none did). The store must record checks (`record_checks=True`).

    Args:
        store: The store the run used.
        outcomes: What the poller returned; jobs without a job id (never
            created) are skipped.
        cap: The longest gap allowed between two checks of one job, seconds.

    Raises:
        AssertionError: A job waited longer; the message names it and when.
    """
    _require_records(store)
    for outcome in outcomes:
        if outcome.job_id is None:
            continue
        job_id = outcome.job_id
        submitted = store.submission_time(job_id)
        completed = store.completion_time(job_id)
        own = sorted(store.checks.get(job_id, []))
        done = [t for t in own if t >= completed]
        until = done[0] if done else (own[-1] if own else submitted)
        feed = [t for t in store.feed_times if submitted <= t <= until]
        times = [submitted, *sorted({*own, *feed})]
        times = [t for t in times if t <= until]
        for before, after in itertools.pairwise(times):
            if after - before > cap + _EPSILON:
                raise AssertionError(
                    f"job {outcome.index} ({job_id}) went {after - before:.4f}s "
                    f"without a check (from t={before:.4f}s to t={after:.4f}s), "
                    f"over the cap of {cap:g}s"
                )


def _require_records(store: SimulatedJobStore) -> None:
    if not store.record_checks:
        raise AssertionError(
            "the store kept no records: create it with record_checks=True"
        )
