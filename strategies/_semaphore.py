"""`semaphore`: single-job checks from a fixed pool, never more than N in flight."""

from __future__ import annotations

from collections import deque

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

from ._common import Composable


@attrs.frozen
class Semaphore(Composable):
    """Get each pending job in turn, with at most `concurrency` gets in flight.

    A fixed pool fed from one queue of pending jobs, oldest check first: not one
    task per job per round. A job is checked again no sooner than `interval` after
    its last answer, so a small pending set is not hammered.

    Args:
        concurrency: The most gets in flight at once.
        interval: The soonest a job is checked again, seconds.
    """

    concurrency: int = attrs.field(default=50, validator=positive_int)
    interval: float = attrs.field(default=2.0, validator=positive)

    def start(self, board: Board) -> SemaphorePoll:
        """Begin a run."""
        return SemaphorePoll(self.concurrency, self.interval)


class SemaphorePoll:
    """One run of `Semaphore`."""

    def __init__(self, concurrency: int, interval: float) -> None:
        self.concurrency = concurrency
        self.interval = interval
        # Jobs go in at the back at "now + interval", or at the front at "now"
        # after a failed check, and now never decreases: the queue stays in
        # order of due time without a heap.
        self.due: deque[tuple[float, JobId]] = deque()
        self.in_flight = 0

    def decide(self, board: Board) -> Decision:
        checks = []
        now = max(board.now, board.retry_at)
        while self.in_flight < self.concurrency and self.due:
            when, job_id = self.due[0]
            if when > now:
                break
            self.due.popleft()
            if job_id in board.pending:
                checks.append(Check(RequestKind.GET, (job_id,)))
                self.in_flight += 1
        wake_at = None
        if self.due and self.in_flight < self.concurrency:
            wake_at = max(self.due[0][0], board.retry_at)
        return Decision(checks, wake_at=wake_at)

    def observe(self, event: Observation, board: Board) -> None:
        if isinstance(event, Submitted):
            first = board.now + self.interval
            self.due.extend((first, job_id) for job_id in event.job_ids)
        elif isinstance(event, Reply) and event.check.kind is RequestKind.GET:
            self.in_flight -= 1
            [job_id] = event.check.job_ids
            if job_id in board.pending:
                if event.error is not None:
                    # A check that failed checked nothing: it goes first again,
                    # now, once the budget's own retries are spent.
                    self.due.appendleft((event.received_at, job_id))
                else:
                    self.due.append((event.received_at + self.interval, job_id))
