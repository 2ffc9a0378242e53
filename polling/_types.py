"""Job states, terminal outcomes and the request vocabulary shared by every layer."""

from __future__ import annotations

import enum
from typing import Any, NewType

import attrs

JobId = NewType("JobId", str)
"""An opaque job identifier, as the job API gave it."""


class JobStatus(enum.Enum):
    """What a job API says about one job."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    NOT_FOUND = "not_found"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """Whether a job in this status will never change again."""
        return self not in (JobStatus.PENDING, JobStatus.RUNNING)


class OutcomeKind(enum.Enum):
    """How the poller ended one job: exactly one of these per job."""

    COMPLETED = "completed"
    FAILED = "failed"
    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    TIMED_OUT = "timed_out"
    UNKNOWN = "unknown"
    """The submit's answer was lost and it could not be retried safely."""


_OUTCOME_OF_STATUS: dict[JobStatus, OutcomeKind] = {
    JobStatus.COMPLETED: OutcomeKind.COMPLETED,
    JobStatus.FAILED: OutcomeKind.FAILED,
    JobStatus.NOT_FOUND: OutcomeKind.NOT_FOUND,
    JobStatus.EXPIRED: OutcomeKind.EXPIRED,
}


class RequestKind(enum.Enum):
    """Every kind of request a client sends, as counted in reports."""

    SUBMIT = "submit"
    GET = "get"
    BATCH_SUBMIT = "batch_submit"
    BATCH_STATUS = "batch_status"
    BATCH_RESULTS = "batch_results"
    WAIT = "wait"
    FEED = "feed"


@attrs.frozen
class JobState:
    """One job as the API reported it at one moment.

    Times are on the API's own clock (see `JobAPI.clock`).
    """

    job_id: JobId
    status: JobStatus
    result: Any = None
    error: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    has_result: bool = False
    """Whether `result` carries the job's result (status-only answers do not)."""


@attrs.frozen
class Outcome:
    """The terminal outcome of one job, as the poller hands it to the caller."""

    index: int
    """The job's position in the input."""
    job_id: JobId | None
    """None only when the job was never created (a submit that failed)."""
    kind: OutcomeKind
    result: Any = None
    error: str | None = None
    completed_at: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the job completed with a result."""
        return self.kind is OutcomeKind.COMPLETED


def outcome_kind_of(status: JobStatus) -> OutcomeKind:
    """The outcome a terminal status ends a job with."""
    return _OUTCOME_OF_STATUS[status]
