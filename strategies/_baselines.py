"""Baselines: the polling loops this project is measured against.

They do what the published clients did, flaws included, so that a benchmark compares
like with like. Each submits one job per request.
"""

from __future__ import annotations

import heapq
import math
from typing import ClassVar

import attrs

from polling import (
    Board,
    Check,
    Decision,
    JobId,
    Observation,
    Reply,
    RequestKind,
    Submitted,
    positive,
)


class SubmitsOneByOne:
    """What every baseline shares: one job per submit, 100 submits in flight."""

    submit_batch: ClassVar[bool] = False
    submit_concurrency: ClassVar[int] = 100


@attrs.frozen
class Naive(SubmitsOneByOne):
    """Every pending job checked on its own every `interval` seconds.

    This is the loop of the reference SDK before this project: each round sends one
    get per pending job, all at once, and reads the result from the same call.

    Args:
        interval: Seconds from the start of one round to the start of the next.
    """

    interval: float = attrs.field(default=2.0, validator=positive)

    def start(self, board: Board) -> _NaivePoll:
        """Begin a run."""
        return _NaivePoll(self.interval)


class _NaivePoll:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.next_round = -math.inf

    def decide(self, board: Board) -> Decision:
        if board.now < self.next_round:
            return Decision(wake_at=self.next_round)
        # Rounds start on a fixed beat, as a sleep-then-gather loop would.
        self.next_round = board.now + self.interval
        checks = [
            Check(RequestKind.GET, (job_id,))
            for job_id, tracked in board.pending.items()
            if not tracked.in_flight
        ]
        return Decision(checks, wake_at=self.next_round)

    def observe(self, event: Observation, board: Board) -> None:
        """Naive learns nothing."""


@attrs.frozen
class PerJobBackoff(SubmitsOneByOne):
    """Each job polled as its own long-running operation, backing off.

    The way cloud SDK pollers treat one operation: the first check `initial` seconds
    after submit, then each wait doubles up to `cap`.

    Args:
        initial: Seconds from a job's submit to its first check.
        cap: The longest wait between two checks of one job, seconds.
    """

    initial: float = attrs.field(default=1.0, validator=positive)
    cap: float = attrs.field(default=30.0, validator=positive)

    def start(self, board: Board) -> _BackoffPoll:
        """Begin a run."""
        return _BackoffPoll(self.initial, self.cap)


class _BackoffPoll:
    def __init__(self, initial: float, cap: float) -> None:
        self.initial = initial
        self.cap = cap
        self.due: list[tuple[float, int, JobId]] = []
        self.order = 0

    def decide(self, board: Board) -> Decision:
        checks = []
        while self.due and self.due[0][0] <= board.now:
            _, _, job_id = heapq.heappop(self.due)
            if job_id in board.pending:
                checks.append(Check(RequestKind.GET, (job_id,)))
        wake_at = self.due[0][0] if self.due else None
        return Decision(checks, wake_at=wake_at)

    def observe(self, event: Observation, board: Board) -> None:
        if isinstance(event, Submitted):
            for job_id in event.job_ids:
                self._schedule(job_id, board.now + self.initial)
        elif isinstance(event, Reply) and event.check.kind is RequestKind.GET:
            [job_id] = event.check.job_ids
            tracked = board.pending.get(job_id)
            if tracked is not None:
                wait = min(self.cap, self.initial * 2.0**tracked.checks)
                self._schedule(job_id, event.received_at + wait)

    def _schedule(self, job_id: JobId, when: float) -> None:
        self.order += 1
        heapq.heappush(self.due, (when, self.order, job_id))
