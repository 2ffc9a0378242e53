"""What several strategies share: asking about many jobs in the fewest requests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from polling import Board, Check, JobId, PollStrategy, Reply, RequestKind


def chunked(items: Sequence[JobId], size: int) -> Iterator[tuple[JobId, ...]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


def status_checks(board: Board, job_ids: Sequence[JobId]) -> list[Check]:
    """Ask for the status of these jobs: in batches where the API has them.

    Without batch status, one get each, which also brings the result.
    """
    size = board.capabilities.batch_status
    if size is None:
        return [Check(RequestKind.GET, (job_id,)) for job_id in job_ids]
    return [Check(RequestKind.BATCH_STATUS, chunk) for chunk in chunked(job_ids, size)]


def result_checks(board: Board, job_ids: Sequence[JobId]) -> list[Check]:
    """Fetch the results of these finished jobs: in batches where the API can."""
    size = board.capabilities.batch_results
    if size is None:
        return [Check(RequestKind.GET, (job_id,)) for job_id in job_ids]
    return [Check(RequestKind.BATCH_RESULTS, chunk) for chunk in chunked(job_ids, size)]


def awaiting_results(board: Board, reply: Reply) -> list[JobId]:
    """Jobs this reply leaves known finished, with their results still to fetch.

    A status reply adds the jobs it found finished; a result fetch that failed
    leaves its jobs waiting.
    """
    covered = reply.check.job_ids if reply.error else reply.states
    pending = board.pending
    return [
        job_id
        for job_id in covered
        if job_id in pending and pending[job_id].awaits_result
    ]


def fetch_awaiting(board: Board, awaiting: set[JobId]) -> list[Check]:
    """Result fetches for the waiting jobs not already being asked about.

    Takes them out of `awaiting`; a failed fetch brings them back through
    `awaiting_results`.
    """
    pending = board.pending
    ready = sorted(
        job_id
        for job_id in awaiting
        if job_id in pending and not pending[job_id].in_flight
    )
    awaiting.difference_update(ready)
    # Only the waiting ids are walked: intersecting with `pending` would walk
    # every pending job on every decision.
    gone = [job_id for job_id in awaiting if job_id not in pending]
    awaiting.difference_update(gone)
    return result_checks(board, ready)


def stale(board: Board, job_ids: Iterable[JobId], older_than: float) -> list[JobId]:
    """The pending jobs among these not checked since `older_than`."""
    pending = board.pending
    found = []
    for job_id in job_ids:
        tracked = pending.get(job_id)
        if tracked is None or tracked.in_flight:
            continue
        last = tracked.last_checked or tracked.submitted_at
        if last <= older_than:
            found.append(job_id)
    return found


class Composable:
    """`a | b`: try strategy `a`, and fall back on `b` where `a` cannot run.

    Defined once here; nested combinations flatten into one stack.
    """

    def __or__(self, other: Any) -> Any:
        return _stack_of(self, other)

    def __ror__(self, other: Any) -> Any:
        return _stack_of(other, self)


def _stack_of(*strategies: Any) -> Any:
    # Imported here: the stack is Composable too, so its module imports this one.
    from ._stack import Stack

    layers: list[PollStrategy] = []
    for strategy in strategies:
        nested = isinstance(strategy, Stack) and strategy.layers
        layers.extend(strategy.layers if nested else (strategy,))
    return Stack(layers=tuple(layers))


def supports(strategy: object, board: Board) -> bool:
    """Whether a strategy can run on the board's API; yes, unless it says not."""
    check = getattr(strategy, "supports", None)
    return True if check is None else bool(check(board.capabilities))
