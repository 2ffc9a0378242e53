"""The published status vocabulary of the reference HTTP API.

Existing clients of the reference forecast-jobs API read a `status` field in these
words and treat `"completed"` as done. Both the server and the HTTP client translate
at the boundary with this one table, so the words never leak past it.
"""

from __future__ import annotations

from typing import Final

from ._errors import ProtocolError
from ._types import JobStatus

WIRE_STATUS: Final[dict[JobStatus, str]] = {
    JobStatus.PENDING: "queued",
    JobStatus.RUNNING: "in_progress",
    JobStatus.COMPLETED: "completed",
    JobStatus.FAILED: "error",
    JobStatus.NOT_FOUND: "not_found",
    JobStatus.EXPIRED: "expired",
}

_STATUS_OF_WIRE: Final[dict[str, JobStatus]] = {
    word: status for status, word in WIRE_STATUS.items()
}


def status_from_wire(word: str) -> JobStatus:
    """The status a wire word stands for.

    Raises:
        ProtocolError: The word is not in the vocabulary. An unknown status is an
            error, never taken to mean "still pending".
    """
    try:
        return _STATUS_OF_WIRE[word]
    except KeyError:
        known = ", ".join(sorted(_STATUS_OF_WIRE))
        raise ProtocolError(f"unknown job status {word!r}; known: {known}") from None
