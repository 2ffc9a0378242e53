"""`predictive`: single gets timed by when each job is likely to finish.

For an API with only single-job calls, every check is a request, so the question is
when to ask. A job's end is its start plus its run time. The run time is learned
from the jobs already finished (the API reports when each started and ended). The
start is learned from the queue: in a first-in, first-out queue jobs start in the
order they were submitted, at the rate the workers drain it, so the starts seen so
far place the start of every job behind them.

Each job is first checked `target_delay` after the earliest it could plausibly have
finished (its predicted start plus a low quantile of run times), then every
`target_delay` while it runs: a job that finishes between two checks waits at most
one spacing for the next. Most jobs are done by their first check.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque

import attrs
from sortedcontainers import SortedList

from polling import (
    Board,
    Decision,
    JobId,
    JobStatus,
    Observation,
    Reply,
    RequestKind,
    Submitted,
    fraction,
    positive,
)
from polling import Check as _Check

from ._common import Composable

_SAMPLES = 4096
"""Run times kept for the quantile: enough for a 0.5 % quantile, bounded memory."""

_START_WINDOW = 256
"""Recent starts used to estimate the queue's drain rate."""


@attrs.frozen
class Predictive(Composable):
    """Get each job near its likely completion, then every `target_delay`.

    Args:
        target_delay: The detection delay to hold for nearly every job, seconds.
        early_quantile: How early in the run-time distribution a job is first
            expected to finish; lower is safer and costs more checks.
        max_staleness: The longest any pending job goes unchecked, seconds.
        seed: Seeds the run-time sample, so that a run repeats.
    """

    target_delay: float = attrs.field(default=2.0, validator=positive)
    early_quantile: float = attrs.field(default=0.005, validator=fraction)
    max_staleness: float = attrs.field(default=60.0, validator=positive)
    seed: int = 0

    def start(self, board: Board) -> PredictivePoll:
        """Begin a run."""
        return PredictivePoll(self)


class PredictivePoll:
    """One run of `Predictive`."""

    def __init__(self, config: Predictive) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.order: dict[JobId, int] = {}
        self.due: list[tuple[float, int, JobId]] = []
        self.next_check: dict[JobId, float] = {}
        self.durations: SortedList[float] = SortedList()
        self.starts: deque[tuple[int, float]] = deque(maxlen=_START_WINDOW)
        self.latest_start: tuple[int, float] | None = None
        self.drain_rate: float | None = None
        self.starts_changed = False
        self.round_trip = 0.0

    def decide(self, board: Board) -> Decision:
        checks = []
        pending = board.pending
        while self.due and self.due[0][0] <= board.now:
            when, _, job_id = heapq.heappop(self.due)
            tracked = pending.get(job_id)
            if tracked is None or self.next_check.get(job_id) != when:
                continue
            if tracked.in_flight:
                self._schedule(job_id, board.now + self._spacing())
                continue
            del self.next_check[job_id]
            checks.append(_Check(RequestKind.GET, (job_id,)))
        wake_at = max(self.due[0][0], board.retry_at) if self.due else None
        return Decision(checks, wake_at=wake_at)

    def observe(self, event: Observation, board: Board) -> None:
        if isinstance(event, Submitted):
            for job_id in event.job_ids:
                self.order[job_id] = len(self.order)
                self._schedule_first(job_id, board)
            return
        offset = board.server_now - board.now
        for state in event.states.values():
            self._learn(state.job_id, state.started_at, state.completed_at, offset)
        self._learn_round_trip(event)
        for job_id in event.check.job_ids:
            if job_id in board.pending and job_id not in self.next_check:
                self._schedule_next(job_id, board, event)

    def _schedule_first(self, job_id: JobId, board: Board) -> None:
        tracked = board.pending[job_id]
        start = max(tracked.submitted_at, self._predicted_start(job_id))
        self._schedule(job_id, start + self._early_run_time() + self._spacing())

    def _schedule_next(self, job_id: JobId, board: Board, reply: Reply) -> None:
        now = reply.received_at
        tracked = board.pending[job_id]
        spacing = self._spacing()
        if reply.error is not None or tracked.status is JobStatus.COMPLETED:
            when = now + spacing
        elif tracked.status is JobStatus.RUNNING and tracked.started_at is not None:
            started = tracked.started_at - (board.server_now - board.now)
            when = max(now, started + self._early_run_time()) + spacing
        else:
            start = max(now, self._predicted_start(job_id))
            when = start + self._early_run_time() + spacing
        when = min(when, now + self.config.max_staleness)
        self._schedule(job_id, max(when, board.retry_at))

    def _schedule(self, job_id: JobId, when: float) -> None:
        self.next_check[job_id] = when
        heapq.heappush(self.due, (when, self.order.get(job_id, 0), job_id))

    def _spacing(self) -> float:
        """Checks this far apart hold the target, the answer's travel included."""
        return max(self.config.target_delay - 1.5 * self.round_trip, 0.001)

    def _early_run_time(self) -> float:
        """A run time that almost every job exceeds; zero until enough are seen."""
        count = len(self.durations)
        if count * self.config.early_quantile < 1:
            return 0.0
        rank = int(self.config.early_quantile * count)
        early: float = self.durations[rank]
        return early

    def _predicted_start(self, job_id: JobId) -> float:
        """When the job starts, placed behind the latest start seen in the queue."""
        if self.starts_changed:
            self.drain_rate = self._drain_rate()
            self.starts_changed = False
        if self.drain_rate is None or self.latest_start is None:
            return -math.inf
        last_seq, last_at = self.latest_start
        return last_at + (self.order[job_id] - last_seq) / self.drain_rate

    def _drain_rate(self) -> float | None:
        """Jobs started per second, over the recent starts seen."""
        if self.latest_start is None or len(self.starts) < 2:
            return None
        first_seq, first_at = min(self.starts)
        last_seq, last_at = self.latest_start
        if last_at <= first_at or last_seq <= first_seq:
            return None
        return (last_seq - first_seq) / (last_at - first_at)

    def _learn(
        self,
        job_id: JobId,
        started_at: float | None,
        completed_at: float | None,
        offset: float,
    ) -> None:
        if started_at is not None and job_id in self.order:
            seen = (self.order[job_id], started_at - offset)
            self.starts.append(seen)
            self.starts_changed = True
            if self.latest_start is None or seen[0] > self.latest_start[0]:
                self.latest_start = seen
        if started_at is not None and completed_at is not None:
            self._add_duration(completed_at - started_at)

    def _add_duration(self, duration: float) -> None:
        if len(self.durations) < _SAMPLES:
            self.durations.add(duration)
            return
        # Keep the sample fresh and bounded: replace one at random.
        self.durations.pop(self.rng.randrange(_SAMPLES))
        self.durations.add(duration)

    def _learn_round_trip(self, reply: Reply) -> None:
        if reply.check.kind is RequestKind.GET and reply.error is None:
            sample = reply.received_at - reply.sent_at
            self.round_trip = 0.9 * self.round_trip + 0.1 * sample
