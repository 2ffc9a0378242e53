"""A polling strategy written from scratch: check each job at chosen ages.

A job is first checked `ages[0]` seconds after it was submitted, then at each
later age in turn, then every `every` seconds until it ends.
"""

from __future__ import annotations

import heapq

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


@attrs.frozen
class AtAges:
    """Check each job at fixed ages, then every `every` seconds."""

    ages: tuple[float, ...] = (1.0, 5.0)
    every: float = attrs.field(default=10.0, validator=positive)

    def start(self, board: Board) -> AtAgesPoll:
        """Begin a run: the engine calls this once per run."""
        return AtAgesPoll(self)


class AtAgesPoll:
    """One run: a heap of (when, job) to check next."""

    def __init__(self, config: AtAges) -> None:
        self.config = config
        self.due: list[tuple[float, JobId]] = []

    def decide(self, board: Board) -> Decision:
        """Send a get for every job now due; wake up at the next one."""
        checks = []
        while self.due and self.due[0][0] <= board.now:
            _, job_id = heapq.heappop(self.due)
            if job_id in board.pending:
                checks.append(Check(RequestKind.GET, (job_id,)))
        wake_at = self.due[0][0] if self.due else None
        return Decision(checks, wake_at=wake_at)

    def observe(self, event: Observation, board: Board) -> None:
        """Plan the first check of new jobs, and the next of those answered."""
        if isinstance(event, Submitted):
            for job_id in event.job_ids:
                first = board.now + self._wait_after(0)
                heapq.heappush(self.due, (first, job_id))
        elif isinstance(event, Reply):
            for job_id in event.check.job_ids:
                tracked = board.pending.get(job_id)
                if tracked is not None:
                    wait = self._wait_after(tracked.checks)
                    heapq.heappush(self.due, (event.received_at + wait, job_id))

    def _wait_after(self, checks: int) -> float:
        ages = (0.0, *self.config.ages)
        if checks + 1 < len(ages):
            return ages[checks + 1] - ages[checks]
        return self.config.every
