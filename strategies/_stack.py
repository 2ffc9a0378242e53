"""`stack`: the best path the API allows, falling back layer by layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from polling import (
    Board,
    Capabilities,
    ConfigError,
    Decision,
    Observation,
    Poll,
    PollStrategy,
    Submitted,
    positive,
    strategy_from,
)

from ._batch import Batch
from ._common import Composable, supports
from ._predictive import Predictive

_FEED_WAIT = 20.0
"""How long the default batch layer holds a feed or wait request, at most."""

_FEED_PAUSE_SHARE = 1 / 8
"""The share of the target delay the default batch layer pauses between feed
pages: the feed's own linger and the round trip come on top of it."""


def _to_layers(value: Any) -> tuple[PollStrategy, ...]:
    """Layers from strategies or their specs (names, mappings)."""
    if isinstance(value, str | PollStrategy) or hasattr(value, "keys"):
        value = (value,)
    return tuple(strategy_from(layer) for layer in value)


@attrs.frozen
class Stack(Composable):
    """Try each layer in turn and run the first the API supports.

    By default: `batch` (the completion feed, the long-poll wait or batch status,
    with batch results) where the API has any of them, else `predictive` (single
    gets timed by each job's likely completion). A layer whose capability proves
    absent mid-run (a 404 or 405, learned once) hands every pending job to the
    next, so that none is lost or checked twice at once. `a | b` builds a stack;
    any strategy can be a layer, a user's own included.

    Args:
        layers: The strategies to try, in order; empty for the default.
        target_delay: For the default layers, seconds: the detection delay to
            hold where the API has only single-job calls; on a completion feed,
            an eighth of it is the pause between pages, so a longer target
            costs fewer feed requests.
        max_staleness: For the default layers: the longest any pending job goes
            unchecked, seconds.
    """

    layers: tuple[PollStrategy, ...] = attrs.field(default=(), converter=_to_layers)
    target_delay: float = attrs.field(default=2.0, validator=positive)
    max_staleness: float = attrs.field(default=60.0, validator=positive)

    def chosen_layers(self) -> Sequence[PollStrategy]:
        """The layers this stack tries, in order."""
        if self.layers:
            return self.layers
        return (
            Batch(
                wait=min(_FEED_WAIT, self.max_staleness),
                max_staleness=self.max_staleness,
                feed_pause=self.target_delay * _FEED_PAUSE_SHARE,
            ),
            Predictive(
                target_delay=self.target_delay, max_staleness=self.max_staleness
            ),
        )

    def supports(self, capabilities: Capabilities) -> bool:
        """A stack runs where any of its layers does."""
        board = Board(capabilities=capabilities)
        return any(supports(layer, board) for layer in self.chosen_layers())

    def start(self, board: Board) -> StackPoll:
        """Begin a run with the first layer the API supports."""
        return StackPoll(tuple(self.chosen_layers()), board)


class StackPoll:
    """One run of `Stack`: the layer in charge, and the checks it has out."""

    def __init__(self, layers: tuple[PollStrategy, ...], board: Board) -> None:
        self.layers = layers
        self.index = -1
        self.current: Poll | None = None
        self.outstanding: set[int] = set()
        self._advance(board)

    @property
    def layer(self) -> PollStrategy:
        """The layer in charge now."""
        return self.layers[self.index]

    def decide(self, board: Board) -> Decision:
        if not supports(self.layer, board):
            self._advance(board)
        assert self.current is not None
        decision = self.current.decide(board)
        self.outstanding.update(id(check) for check in decision.checks)
        return decision

    def observe(self, event: Observation, board: Board) -> None:
        assert self.current is not None
        if isinstance(event, Submitted):
            self.current.observe(event, board)
            return
        # A reply to a layer that has handed over is already on the board; the
        # layer in charge has every pending job scheduled on its own.
        if id(event.check) in self.outstanding:
            self.outstanding.discard(id(event.check))
            self.current.observe(event, board)

    def _advance(self, board: Board) -> None:
        for index in range(self.index + 1, len(self.layers)):
            if supports(self.layers[index], board):
                self._hand_over(index, board)
                return
        names = ", ".join(type(layer).__name__ for layer in self.layers)
        raise ConfigError(f"no layer of the stack ({names}) can run on this API")

    def _hand_over(self, index: int, board: Board) -> None:
        self.index = index
        self.outstanding.clear()
        self.current = self.layers[index].start(board)
        if board.pending:
            self.current.observe(Submitted(tuple(board.pending)), board)
