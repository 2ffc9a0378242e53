"""The report of one run: what it cost and how fast results arrived."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from ._types import OutcomeKind, RequestKind


@attrs.frozen
class DelaySummary:
    """Detection delay: from a job's completion at the API to its outcome, seconds."""

    p50: float
    p99: float
    max: float
    count: int

    @classmethod
    def of(cls, delays: Sequence[float]) -> DelaySummary:
        """Summarise delays; all zeros when there are none."""
        if not delays:
            return cls(0.0, 0.0, 0.0, 0)
        ordered = sorted(delays)
        return cls(
            p50=_quantile(ordered, 0.50),
            p99=_quantile(ordered, 0.99),
            max=ordered[-1],
            count=len(ordered),
        )


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank quantile: a value that was observed, never interpolated."""
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@attrs.frozen
class Report:
    """What one run cost and how it ended.

    Attributes:
        requests: Every request sent, rejected ones and retries included, by kind.
        retries: Requests sent again after a transient failure or a 429.
        rejected: Requests the API answered with 429.
        outcomes: How many jobs ended in each outcome.
        delay: Detection delay of the jobs whose completion time the API gave.
        wall_time: From the run's start to its last outcome, seconds.
    """

    requests: Mapping[RequestKind, int]
    retries: int
    rejected: int
    outcomes: Mapping[OutcomeKind, int]
    delay: DelaySummary
    wall_time: float

    @property
    def total_requests(self) -> int:
        """Every request sent, of every kind."""
        return sum(self.requests.values())

    def summary(self) -> str:
        """A few lines for a person: requests by kind, outcomes, delay, time."""
        kinds = ", ".join(
            f"{kind.value}={count}"
            for kind, count in sorted(
                self.requests.items(), key=lambda item: item[0].value
            )
            if count
        )
        ends = ", ".join(
            f"{kind.value}={count}" for kind, count in self.outcomes.items() if count
        )
        return "\n".join(
            [
                f"requests: {self.total_requests} ({kinds or 'none'})",
                f"retries: {self.retries}, rate-limit rejections: {self.rejected}",
                f"outcomes: {ends or 'none'}",
                self._delay_line(),
                f"wall time: {self.wall_time:.2f}s",
            ]
        )

    def _delay_line(self) -> str:
        if not self.delay.count:
            return "detection delay: none (no job reported a completion time)"
        return (
            f"detection delay: p50 {self.delay.p50:.3f}s, "
            f"p99 {self.delay.p99:.3f}s, max {self.delay.max:.3f}s"
        )
