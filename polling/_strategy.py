"""The `PollStrategy` protocol and what a strategy sees and returns.

A strategy decides and the engine performs, the way an httpx auth flow yields
requests without sending them. Each run, the engine asks the strategy for a fresh
`Poll` (its per-run state), shows it a `Board` of the jobs still pending, and calls
two methods: `decide` (which checks to send now, and when to be asked again) and
`observe` (what happened: jobs submitted, replies received). Neither does I/O or
reads a clock, so a strategy is tested by handing it boards and replies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import attrs

from ._api import Capabilities
from ._types import JobId, JobState, JobStatus, RequestKind

_CHECK_KINDS = frozenset(
    {
        RequestKind.GET,
        RequestKind.BATCH_STATUS,
        RequestKind.BATCH_RESULTS,
        RequestKind.WAIT,
        RequestKind.FEED,
    }
)


class Tracked:
    """What the engine knows of one pending job. Strategies read it, never write.

    Times on the engine's clock (`Board.now`) except `started_at` and
    `completed_at`, which are the API's (`Board.server_now`).
    """

    __slots__ = (
        "checks",
        "completed_at",
        "in_flight",
        "index",
        "job_id",
        "last_checked",
        "started_at",
        "status",
        "submitted_at",
    )

    def __init__(self, job_id: JobId, index: int, submitted_at: float) -> None:
        self.job_id = job_id
        self.index = index
        self.submitted_at = submitted_at
        self.last_checked: float | None = None
        self.checks = 0
        self.status = JobStatus.PENDING
        self.started_at: float | None = None
        self.completed_at: float | None = None
        self.in_flight = 0
        """How many checks that cover this job are on their way."""

    @property
    def awaits_result(self) -> bool:
        """Whether the job is known finished but its result is not yet fetched."""
        return self.status is JobStatus.COMPLETED

    def __repr__(self) -> str:
        return f"Tracked({self.job_id!r}, status={self.status.value})"


@attrs.define
class Board:
    """The engine's view of a run, shown to the strategy at every decision.

    `pending` holds every submitted job without an outcome yet, in submission order.
    """

    capabilities: Capabilities
    now: float = 0.0
    server_now: float = 0.0
    pending: dict[JobId, Tracked] = attrs.Factory(dict)
    in_flight: int = 0
    """Checks sent and not yet answered."""
    submitting: bool = True
    """Whether more jobs may still be submitted."""
    retry_at: float = 0.0
    """Until when the API asked the client to hold back (its latest Retry-After)."""


@attrs.frozen
class Check:
    """One request a strategy asks the engine to send.

    Args:
        kind: `get` (one job), `batch_status`, `batch_results`, `wait` (a batch
            status held open until a job changes) or `feed`.
        job_ids: The jobs it covers; empty for `feed`.
        wait: For `wait` and `feed`: how long the API may hold the request.
        cursor: For `feed`: where to resume.
    """

    kind: RequestKind
    job_ids: tuple[JobId, ...] = ()
    wait: float | None = None
    cursor: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind not in _CHECK_KINDS:
            raise ValueError(f"a check cannot be a {self.kind.value} request")
        if self.kind is RequestKind.GET and len(self.job_ids) != 1:
            raise ValueError("a get check covers exactly one job")


@attrs.frozen
class Decision:
    """What to send now, and when the strategy wants to be asked again.

    The engine also asks again whenever a reply arrives, so `wake_at` only needs to
    be set when the strategy wants to act at a time of its own.
    """

    checks: Sequence[Check] = ()
    wake_at: float | None = None


@attrs.frozen
class Submitted:
    """Jobs the engine has just submitted; they are on the board now."""

    job_ids: tuple[JobId, ...]


@attrs.frozen
class Reply:
    """The answer to one check, or the error that ended it.

    `states` holds what the API said of each job it covered. For `feed`, `cursor`
    is where the next page starts. A check that failed has `error` set and no states;
    `CapabilityMissing` there means the kind is gone from `Board.capabilities`.
    """

    check: Check
    sent_at: float
    received_at: float
    states: Mapping[JobId, JobState] = attrs.Factory(dict)
    cursor: str | None = None
    error: Exception | None = None


Observation = Submitted | Reply


@runtime_checkable
class Poll(Protocol):
    """One run of a strategy: its state, and the two calls the engine makes."""

    def decide(self, board: Board) -> Decision:
        """Return the checks to send now and when to be asked again."""
        ...

    def observe(self, event: Observation, board: Board) -> None:
        """Take note of jobs submitted or a reply received."""
        ...


@runtime_checkable
class PollStrategy(Protocol):
    """A polling strategy: a value that starts a fresh `Poll` for every run.

    A strategy may also set plain attributes that shape how the engine sends:
    `submit_batch` (False to submit one job per request), `submit_concurrency`
    (single submits in flight at once) and `max_in_flight` (a limit of its own on
    requests in flight; the poller keeps the stricter of it and its own).
    """

    def start(self, board: Board) -> Poll:
        """Begin a run against the API whose capabilities are on `board`."""
        ...
