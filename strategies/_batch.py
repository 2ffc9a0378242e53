"""`batch`: ask about many jobs per request, and read results in batches."""

from __future__ import annotations

import math

import attrs

from polling import (
    Board,
    Capabilities,
    Check,
    Decision,
    JobId,
    Observation,
    Reply,
    RequestKind,
    non_negative,
    positive,
)

from ._common import Composable, awaiting_results, fetch_awaiting, stale, status_checks


@attrs.frozen
class Batch(Composable):
    """Many jobs per request, by the best route the API has.

    With a completion feed, one long-polled feed request at a time brings every
    finished job with its result. Else a long-poll wait per batch of pending jobs,
    answered when one of them changes. Else a batch status of every pending job
    each `interval`. Finished jobs found by status are fetched with batch results.
    Every reply is checked to cover every id it was asked about (the engine fails
    a job a reply leaves out).

    Args:
        interval: Seconds between status sweeps, when there is no feed or wait.
        wait: The longest a feed or wait request is held open, seconds.
        use_feed: Use the completion feed where the API has one.
        use_wait: Use the long-poll wait where the API has one.
        max_staleness: On the feed, a job not heard of for this long is asked
            about directly; the feed never reports a job that vanished.
        feed_pause: After a feed page that was not full, seconds to wait before
            asking again. A feed answers at once while completions are waiting,
            so without a pause a steady trickle of them is asked for in a tight
            loop; each job's detection delay grows by at most this much.
    """

    interval: float = attrs.field(default=1.0, validator=positive)
    wait: float = attrs.field(default=20.0, validator=positive)
    use_feed: bool = True
    use_wait: bool = True
    max_staleness: float = attrs.field(default=60.0, validator=positive)
    feed_pause: float = attrs.field(default=0.25, validator=non_negative)

    def supports(self, capabilities: Capabilities) -> bool:
        """Batch needs one of batch status, the wait, or the feed."""
        return bool(
            capabilities.batch_status
            or (self.use_feed and capabilities.feed)
            or (self.use_wait and capabilities.wait)
        )

    def start(self, board: Board) -> BatchPoll:
        """Begin a run."""
        return BatchPoll(self)


class BatchPoll:
    """One run of `Batch`."""

    def __init__(self, config: Batch) -> None:
        self.config = config
        self.cursor: str | None = None
        self.feed_in_flight = False
        self.next_feed = -math.inf
        self.next_sweep = -math.inf
        self.awaiting: set[JobId] = set()

    def decide(self, board: Board) -> Decision:
        checks = fetch_awaiting(board, self.awaiting)
        caps = board.capabilities
        if self.config.use_feed and caps.feed:
            checks += self._feed(board)
            wake_at = self._feed_wake(board)
        elif self.config.use_wait and caps.wait:
            checks += self._waits(board)
            wake_at = None
        else:
            checks += self._sweep(board)
            wake_at = self.next_sweep
        return Decision(checks, wake_at=wake_at)

    def observe(self, event: Observation, board: Board) -> None:
        if not isinstance(event, Reply):
            return
        if event.check.kind is RequestKind.FEED:
            self.feed_in_flight = False
            if event.error is None:
                self.cursor = event.cursor
            if event.error is not None or _answered_without_holding(event):
                self.next_feed = event.received_at + self.config.interval
            elif len(event.states) < (board.capabilities.feed or 1):
                self.next_feed = event.received_at + self.config.feed_pause
            return
        self.awaiting.update(awaiting_results(board, event))

    def _feed(self, board: Board) -> list[Check]:
        checks = []
        if not self.feed_in_flight and board.now >= self.next_feed:
            self.feed_in_flight = True
            wait = min(self.config.wait, board.capabilities.feed_wait or math.inf)
            checks.append(Check(RequestKind.FEED, wait=wait, cursor=self.cursor))
        if board.now >= self.next_sweep:
            # The feed reports what finished; a job that vanished never does.
            self.next_sweep = board.now + self.config.max_staleness
            older_than = board.now - self.config.max_staleness
            checks += status_checks(board, stale(board, board.pending, older_than))
        return checks

    def _feed_wake(self, board: Board) -> float:
        wake = self.next_sweep
        if not self.feed_in_flight:
            wake = min(wake, max(board.now, self.next_feed))
        return wake

    def _waits(self, board: Board) -> list[Check]:
        size = board.capabilities.batch_status or 1
        idle = [
            job_id
            for job_id, tracked in board.pending.items()
            if not tracked.in_flight and not tracked.awaits_result
        ]
        hold = min(self.config.wait, board.capabilities.wait or math.inf)
        return [
            Check(RequestKind.WAIT, tuple(idle[start : start + size]), wait=hold)
            for start in range(0, len(idle), size)
        ]

    def _sweep(self, board: Board) -> list[Check]:
        if board.now < self.next_sweep:
            return []
        self.next_sweep = max(board.now, board.retry_at) + self.config.interval
        idle = [
            job_id
            for job_id, tracked in board.pending.items()
            if not tracked.in_flight and not tracked.awaits_result
        ]
        return status_checks(board, idle)


def _answered_without_holding(reply: Reply) -> bool:
    """An empty feed page that came back well before its wait: a server that
    does not hold feed requests, which would otherwise be asked in a tight loop."""
    held = reply.received_at - reply.sent_at
    return not reply.states and held < (reply.check.wait or 0.0) / 2
