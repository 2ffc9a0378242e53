"""`sample`: estimate progress from a sample, sweep when it pays, starve no job."""

from __future__ import annotations

import math
import random

import attrs

from polling import (
    Board,
    Decision,
    JobId,
    Observation,
    Reply,
    fraction,
    positive,
    positive_int,
)

from ._common import (
    Composable,
    awaiting_results,
    fetch_awaiting,
    stale,
    status_checks,
)


@attrs.frozen
class Sample(Composable):
    """Each round, check a random sample of pending jobs to estimate progress.

    Once the sample shows at least `sweep_above` of its jobs finished, the round
    checks every pending job instead. Whatever the estimate, each round also checks
    every job that would otherwise go unchecked longer than `max_staleness`, so no
    job starves, however large the pending set.

    Args:
        size: Jobs in each round's sample.
        interval: Seconds between rounds.
        sweep_above: The finished share of the sample that triggers a full sweep.
        max_staleness: The longest any pending job goes unchecked, seconds.
        seed: Seeds the sampling, so that a run repeats.
    """

    size: int = attrs.field(default=100, validator=positive_int)
    interval: float = attrs.field(default=2.0, validator=positive)
    sweep_above: float = attrs.field(default=0.5, validator=fraction)
    max_staleness: float = attrs.field(default=30.0, validator=positive)
    seed: int = 0

    def start(self, board: Board) -> SamplePoll:
        """Begin a run."""
        return SamplePoll(self)


class SamplePoll:
    """One run of `Sample`."""

    def __init__(self, config: Sample) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.next_round = -math.inf
        self.sampled: set[JobId] = set()
        self.sampled_finished = 0
        self.estimate = 0.0
        self.awaiting: set[JobId] = set()

    def decide(self, board: Board) -> Decision:
        checks = fetch_awaiting(board, self.awaiting)
        if board.now < self.next_round:
            return Decision(checks, wake_at=self.next_round)
        self.next_round = max(board.now, board.retry_at) + self.config.interval
        self._close_sample()
        idle = [
            job_id
            for job_id, tracked in board.pending.items()
            if not tracked.in_flight and not tracked.awaits_result
        ]
        if self.estimate >= self.config.sweep_above:
            chosen = idle
        else:
            chosen = self._sample_and_stale(board, idle)
        self.sampled = set(chosen)
        checks += status_checks(board, chosen)
        return Decision(checks, wake_at=self.next_round)

    def observe(self, event: Observation, board: Board) -> None:
        if not isinstance(event, Reply):
            return
        for job_id, state in event.states.items():
            if job_id in self.sampled and state.status.is_terminal:
                self.sampled_finished += 1
        self.awaiting.update(awaiting_results(board, event))

    def _close_sample(self) -> None:
        if self.sampled:
            self.estimate = self.sampled_finished / len(self.sampled)
        self.sampled_finished = 0

    def _sample_and_stale(self, board: Board, idle: list[JobId]) -> list[JobId]:
        sample = self.rng.sample(idle, min(self.config.size, len(idle)))
        # Checked now, a job due before the next round is never over the cap.
        older_than = self.next_round - self.config.max_staleness
        overdue = stale(board, idle, older_than)
        chosen = dict.fromkeys(sample)
        chosen.update(dict.fromkeys(overdue))
        return list(chosen)
