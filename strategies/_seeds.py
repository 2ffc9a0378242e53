"""The four published proposals, faithfully: what this project improves on.

Each does what its proposal did, with its published parameters and its flaws, so
that a benchmark compares like with like. Like the other baselines, each submits
one job per request.
"""

from __future__ import annotations

import math
import random

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
    positive_int,
)

from ._baselines import SubmitsOneByOne


def _gets(job_ids: list[JobId]) -> list[Check]:
    return [Check(RequestKind.GET, (job_id,)) for job_id in job_ids]


class _Rounds:
    """A round of checks, then a pause, then the next: the shape all four share."""

    def __init__(self) -> None:
        self.open = 0
        self.next_round = -math.inf

    def due(self, board: Board) -> bool:
        return not self.open and board.now >= self.next_round

    def wake(self) -> float | None:
        return None if self.open else self.next_round

    def answered(self, reply: Reply) -> bool:
        """Count one answer of the round; True once the round is over."""
        if not self.open:
            return False
        self.open -= 1
        return not self.open


@attrs.frozen
class SeedBatch(SubmitsOneByOne):
    """Every 2 s a batch status of all pending jobs, then one get per finished job.

    The proposal sent all ids in one request; no server takes 50,000, so this
    version splits them at the server's limit, and keeps the proposal's one result
    fetch per job. Without batch status it gets each pending job.

    Args:
        interval: Seconds from the start of one round to the start of the next.
    """

    interval: float = attrs.field(default=2.0, validator=positive)

    def start(self, board: Board) -> _SeedBatchPoll:
        """Begin a run."""
        return _SeedBatchPoll(self.interval)


class _SeedBatchPoll:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.rounds = _Rounds()
        self.finished: list[JobId] = []

    def decide(self, board: Board) -> Decision:
        checks = _gets(self.finished)
        self.finished = []
        if self.rounds.due(board):
            self.rounds.next_round = board.now + self.interval
            idle = [j for j, t in board.pending.items() if not t.in_flight]
            size = board.capabilities.batch_status
            if size is None:
                checks += _gets(idle)
            else:
                checks += [
                    Check(RequestKind.BATCH_STATUS, tuple(idle[i : i + size]))
                    for i in range(0, len(idle), size)
                ]
        return Decision(checks, wake_at=self.rounds.next_round)

    def observe(self, event: Observation, board: Board) -> None:
        if isinstance(event, Reply) and event.check.kind is RequestKind.BATCH_STATUS:
            self.finished += [
                job_id
                for job_id in event.states
                if job_id in board.pending and board.pending[job_id].awaits_result
            ]


@attrs.frozen
class SeedSemaphore(SubmitsOneByOne):
    """Each round, one task per pending job, 20 gets at a time; 2 s between rounds.

    Args:
        concurrency: The most gets of a round in flight at once.
        interval: Seconds from the last answer of one round to the next round.
    """

    concurrency: int = attrs.field(default=20, validator=positive_int)
    interval: float = attrs.field(default=2.0, validator=positive)

    def start(self, board: Board) -> _SeedSemaphorePoll:
        """Begin a run."""
        return _SeedSemaphorePoll(self.concurrency, self.interval)


class _SeedSemaphorePoll:
    def __init__(self, concurrency: int, interval: float) -> None:
        self.concurrency = concurrency
        self.interval = interval
        self.rounds = _Rounds()
        self.queue: list[JobId] = []
        self.in_flight = 0

    def decide(self, board: Board) -> Decision:
        if self.rounds.due(board):
            self.queue = list(board.pending)
            self.rounds.open = len(self.queue)
            self.rounds.next_round = board.now + self.interval
        checks = []
        while self.queue and self.in_flight < self.concurrency:
            job_id = self.queue.pop()
            if job_id in board.pending:
                checks.append(Check(RequestKind.GET, (job_id,)))
                self.in_flight += 1
            else:
                self.rounds.open -= 1
        return Decision(checks, wake_at=self.rounds.wake())

    def observe(self, event: Observation, board: Board) -> None:
        if isinstance(event, Reply):
            self.in_flight -= 1
            if self.rounds.answered(event):
                self.rounds.next_round = event.received_at + self.interval


@attrs.frozen
class SeedAdaptive(SubmitsOneByOne):
    """Every pending job each round; the pause starts at 1 s and grows 1.5 times,
    up to 10 s, after a round that finished nothing, and falls back to 1 s.

    Args:
        initial: The pause after a round that finished a job, seconds.
        growth: How much the pause grows after a round that finished nothing.
        cap: The longest pause, seconds.
    """

    initial: float = attrs.field(default=1.0, validator=positive)
    growth: float = attrs.field(default=1.5, validator=positive)
    cap: float = attrs.field(default=10.0, validator=positive)

    def start(self, board: Board) -> _SeedAdaptivePoll:
        """Begin a run."""
        return _SeedAdaptivePoll(self)


class _SeedAdaptivePoll:
    def __init__(self, config: SeedAdaptive) -> None:
        self.config = config
        self.pause = config.initial
        self.rounds = _Rounds()
        self.finished = 0

    def decide(self, board: Board) -> Decision:
        if not self.rounds.due(board):
            return Decision(wake_at=self.rounds.wake())
        checks = _gets([j for j, t in board.pending.items() if not t.in_flight])
        self.rounds.open = len(checks)
        self.finished = 0
        if not checks:
            self.rounds.next_round = board.now + self.pause
        return Decision(checks, wake_at=self.rounds.wake())

    def observe(self, event: Observation, board: Board) -> None:
        if not isinstance(event, Reply):
            return
        self.finished += sum(s.status.is_terminal for s in event.states.values())
        if not self.rounds.answered(event):
            return
        if self.finished:
            self.pause = self.config.initial
        else:
            self.pause = min(self.config.cap, self.pause * self.config.growth)
        self.rounds.next_round = event.received_at + self.pause


@attrs.frozen
class SeedSample(SubmitsOneByOne):
    """Every 2 s, get a sample of 100 of all the jobs; once half the sample is
    done, get every pending job each round.

    The proposal's flaw is kept: below the threshold, a job outside the sample is
    not checked at all, and a finished job may be sampled again.

    Args:
        size: Jobs in the sample.
        sweep_above: The finished share of the sample that starts the sweeps.
        interval: Seconds from the start of one round to the start of the next.
        seed: Seeds the sampling, so that a run repeats.
    """

    size: int = attrs.field(default=100, validator=positive_int)
    sweep_above: float = attrs.field(default=0.5, validator=positive)
    interval: float = attrs.field(default=2.0, validator=positive)
    seed: int = 0

    def start(self, board: Board) -> _SeedSamplePoll:
        """Begin a run."""
        return _SeedSamplePoll(self)


class _SeedSamplePoll:
    def __init__(self, config: SeedSample) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.every: list[JobId] = []
        self.next_round = -math.inf
        self.sampled: set[JobId] = set()
        self.done_in_sample = 0
        self.sweeping = False

    def decide(self, board: Board) -> Decision:
        if board.now < self.next_round:
            return Decision(wake_at=self.next_round)
        self.next_round = board.now + self.config.interval
        if self.sampled:
            share = self.done_in_sample / len(self.sampled)
            self.sweeping |= share >= self.config.sweep_above
        if self.sweeping:
            chosen = [j for j, t in board.pending.items() if not t.in_flight]
        else:
            count = min(self.config.size, len(self.every))
            chosen = self.rng.sample(self.every, count)
        self.sampled = set(chosen)
        self.done_in_sample = 0
        return Decision(_gets(chosen), wake_at=self.next_round)

    def observe(self, event: Observation, board: Board) -> None:
        if isinstance(event, Submitted):
            self.every += event.job_ids
        elif isinstance(event, Reply):
            self.done_in_sample += sum(
                1
                for job_id, state in event.states.items()
                if job_id in self.sampled and state.status.is_terminal
            )
