"""`adaptive`: rounds that come back fast while jobs finish, and back off when not."""

from __future__ import annotations

import math

import attrs

from polling import (
    Board,
    ConfigError,
    Decision,
    JobId,
    Observation,
    Reply,
    RequestKind,
    positive,
)

from ._common import Composable, awaiting_results, fetch_awaiting, status_checks

_SWEEP_KINDS = frozenset({RequestKind.BATCH_STATUS, RequestKind.GET})


def _above_one(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    positive(_, attribute, value)
    if value <= 1:
        raise ConfigError(f"{attribute.name} must be above 1, got {value!r}")


@attrs.frozen
class Adaptive(Composable):
    """Check every pending job each round; the pause between rounds adapts.

    After a round that finished a job the next starts `min_interval` after it;
    after a round that finished none, the pause grows by `growth`, up to
    `max_interval`, which caps how stale any pending job gets. A `Retry-After`
    from the API pushes the next round back. Rounds use batch status where the
    API has it, single gets where not.

    Args:
        min_interval: The pause while jobs are finishing, seconds.
        max_interval: The longest pause, seconds: the staleness cap.
        growth: How much the pause grows after a round that finished nothing.
    """

    min_interval: float = attrs.field(default=1.0, validator=positive)
    max_interval: float = attrs.field(default=10.0, validator=positive)
    growth: float = attrs.field(default=1.5, validator=_above_one)

    def __attrs_post_init__(self) -> None:
        if self.max_interval < self.min_interval:
            raise ConfigError(
                f"max_interval ({self.max_interval}) is below min_interval "
                f"({self.min_interval})"
            )

    def start(self, board: Board) -> AdaptivePoll:
        """Begin a run."""
        return AdaptivePoll(self)


class AdaptivePoll:
    """One run of `Adaptive`."""

    def __init__(self, config: Adaptive) -> None:
        self.config = config
        self.pause = config.min_interval
        self.next_round = -math.inf
        self.round_open = 0
        self.round_finished = 0
        self.awaiting: set[JobId] = set()

    def decide(self, board: Board) -> Decision:
        checks = fetch_awaiting(board, self.awaiting)
        if self.round_open:
            return Decision(checks)
        if board.now < self.next_round:
            return Decision(checks, wake_at=self.next_round)
        idle = [
            job_id
            for job_id, tracked in board.pending.items()
            if not tracked.in_flight and not tracked.awaits_result
        ]
        sweep = status_checks(board, idle)
        self.round_open = len(sweep)
        self.round_finished = 0
        if not sweep:
            self.next_round = board.now + self.pause
            return Decision(checks, wake_at=self.next_round)
        return Decision(checks + sweep)

    def observe(self, event: Observation, board: Board) -> None:
        if not isinstance(event, Reply):
            return
        self.awaiting.update(awaiting_results(board, event))
        if event.check.kind not in _SWEEP_KINDS or not self.round_open:
            return
        self.round_open -= 1
        self.round_finished += sum(
            1 for state in event.states.values() if state.status.is_terminal
        )
        if self.round_open:
            return
        if self.round_finished:
            self.pause = self.config.min_interval
        else:
            self.pause = min(self.config.max_interval, self.pause * self.config.growth)
        self.next_round = max(event.received_at + self.pause, board.retry_at)
