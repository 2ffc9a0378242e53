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
    Tracked,
    fraction,
    positive,
)
from polling import Check as _Check

from ._common import Composable

_SAMPLES = 4096
"""Run times kept for the quantile: enough for a 0.5 % quantile, bounded memory."""

_START_WINDOW = 4096
"""Recent starts used to estimate the queue's drain rate."""

_QUEUED = 0.1
"""A job that started this many seconds after it was submitted had waited in a
queue: only such starts tell the queue's drain rate."""

_TICK = 0.01
"""Checks are planned on a grid this fine, seconds."""

_REPLAN_TOLERANCE = 0.05
"""A due check is put off only if the new plan is this many spacings later."""

_REPLAN_NEAR = 1.0
"""A plan this many seconds away or nearer is kept; a farther one is looked at
again halfway there, when the queue is better known."""


def _waypoint(now: float, planned: float) -> float:
    """When to look at a plan again: at the plan itself once it is near.

    A far plan rests on an early guess of the queue; halving the distance each
    time costs a few recomputations per job and no requests.
    """
    if planned - now <= _REPLAN_NEAR:
        return planned
    return now + (planned - now) / 2


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
        self.submitted_at: dict[JobId, float] = {}
        self.due: list[tuple[float, int, JobId]] = []
        self.next_check: dict[JobId, float] = {}
        self.durations: SortedList[float] = SortedList()
        self.starts: deque[tuple[int, float]] = deque(maxlen=_START_WINDOW)
        self.latest_start: tuple[int, float] | None = None
        self.drain_rate: float | None = None
        self.starts_changed = False
        self.round_trip = 0.0
        self.predicted: dict[JobId, float] = {}
        self.start_errors: SortedList[float] = SortedList()

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
            if tracked.started_at is None:
                # Planned before the queue was known: plan again with what is
                # known now, and ask only if the job may have finished by now.
                planned = self._plan_unstarted(job_id, tracked, board.now)
                if planned > board.now + _REPLAN_TOLERANCE * self._spacing():
                    self._schedule(job_id, _waypoint(board.now, planned))
                    continue
            del self.next_check[job_id]
            checks.append(_Check(RequestKind.GET, (job_id,)))
        wake_at = max(self.due[0][0], board.retry_at) if self.due else None
        return Decision(checks, wake_at=wake_at)

    def observe(self, event: Observation, board: Board) -> None:
        if isinstance(event, Submitted):
            for job_id in event.job_ids:
                self.order[job_id] = len(self.order)
                self.submitted_at[job_id] = board.pending[job_id].submitted_at
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
        planned = self._plan_unstarted(job_id, tracked, board.now)
        self._schedule(job_id, _waypoint(board.now, planned))

    def _plan_unstarted(self, job_id: JobId, tracked: Tracked, now: float) -> float:
        """When to ask about a job not seen running: its predicted start, plus
        the run time nearly every job exceeds, plus one spacing."""
        # It was still queued when last seen, and cannot have started before.
        seen_queued = tracked.last_checked or tracked.submitted_at
        start = max(seen_queued, self._predicted_start(job_id))
        when = start + self._early_run_time() + self._spacing()
        last = tracked.last_checked or tracked.submitted_at
        return min(when, last + self.config.max_staleness)

    def _schedule_next(self, job_id: JobId, board: Board, reply: Reply) -> None:
        now = reply.received_at
        tracked = board.pending[job_id]
        spacing = self._spacing()
        if reply.error is not None:
            # A check that failed checked nothing; the budget has backed off.
            when = now
        elif tracked.status is JobStatus.COMPLETED:
            when = now + spacing
        elif tracked.status is JobStatus.RUNNING and tracked.started_at is not None:
            started = tracked.started_at - (board.server_now - board.now)
            when = max(now, started + self._early_run_time()) + spacing
        else:
            planned = self._plan_unstarted(job_id, tracked, now)
            when = _waypoint(now, planned)
        when = min(when, now + self.config.max_staleness)
        self._schedule(job_id, max(when, board.retry_at))

    def _schedule(self, job_id: JobId, when: float) -> None:
        # On a grid, checks due together go together: one wake-up, not hundreds.
        when = math.ceil(when / _TICK) * _TICK
        self.next_check[job_id] = when
        heapq.heappush(self.due, (when, self.order.get(job_id, 0), job_id))

    def _spacing(self) -> float:
        """Checks this far apart hold the target, the answer's travel included."""
        spacing = self.config.target_delay - 1.5 * self.round_trip - _TICK
        return max(spacing, _TICK)

    def _early_run_time(self) -> float:
        """A run time that almost every job exceeds; zero until enough are seen."""
        count = len(self.durations)
        if count * self.config.early_quantile < 1:
            return 0.0
        rank = int(self.config.early_quantile * count)
        early: float = self.durations[rank]
        return early

    def _predicted_start(self, job_id: JobId) -> float:
        """When the job starts, placed behind the latest start seen in the queue.

        Less the margin by which such predictions have come out late: a check
        made too early costs one request, one made too late costs the delay.
        """
        if self.starts_changed:
            self.drain_rate = self._drain_rate()
            self.starts_changed = False
        if self.drain_rate is None or self.latest_start is None:
            return -math.inf
        last_seq, last_at = self.latest_start
        predicted = last_at + (self.order[job_id] - last_seq) / self.drain_rate
        self.predicted[job_id] = predicted
        return predicted - self._start_margin()

    def _start_margin(self) -> float:
        """How late start predictions have been, at their 99th percentile."""
        count = len(self.start_errors)
        if count < 20:
            return 0.0
        late: float = self.start_errors[min(count - 1, int(0.99 * count))]
        return max(0.0, late)

    def _drain_rate(self) -> float | None:
        """Jobs started per second, over the recent starts seen."""
        if self.latest_start is None or len(self.starts) < 2:
            return None
        # Starts are seen roughly in queue order: the oldest seen is a far point.
        first_seq, first_at = self.starts[0]
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
        if started_at is not None and completed_at is not None:
            self._add_sample(self.durations, completed_at - started_at)
        submitted_at = self.submitted_at.get(job_id)
        if started_at is None or submitted_at is None:
            return
        if completed_at is not None:
            del self.submitted_at[job_id]
        started = started_at - offset
        predicted = self.predicted.pop(job_id, None)
        if predicted is not None:
            self._add_sample(self.start_errors, predicted - started)
        if started - submitted_at < _QUEUED:
            # Started as soon as it came: it says nothing of the queue.
            return
        seen = (self.order[job_id], started)
        self.starts.append(seen)
        self.starts_changed = True
        if self.latest_start is None or seen[0] > self.latest_start[0]:
            self.latest_start = seen

    def _add_sample(self, sample: SortedList[float], value: float) -> None:
        if len(sample) >= _SAMPLES:
            # Keep the sample fresh and bounded: replace one at random.
            sample.pop(self.rng.randrange(_SAMPLES))
        sample.add(value)

    def _learn_round_trip(self, reply: Reply) -> None:
        if reply.check.kind is RequestKind.GET and reply.error is None:
            sample = reply.received_at - reply.sent_at
            self.round_trip = 0.9 * self.round_trip + 0.1 * sample
