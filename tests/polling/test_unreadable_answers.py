"""Answers the client cannot read end the jobs they were about, at once."""

from __future__ import annotations

from polling import (
    JobId,
    JobState,
    OutcomeKind,
    Poller,
    ProtocolError,
    RequestKind,
    strategy_from,
)
from polling.testing import SimulatedJobStore, run_in_virtual_time


class UnknownStatus(SimulatedJobStore):
    """A store whose single-job answers carry a status no client knows."""

    async def get(self, job_id: JobId) -> JobState:
        await super().get(job_id)
        raise ProtocolError("unknown job status 'paused'")


def test_an_unknown_status_fails_the_job_on_the_first_answer() -> None:
    """The job ends failed, naming the status, after one get: no endless wait."""
    store = UnknownStatus(api="sdk-only", duration_of=lambda request: 30.0)
    poller = Poller(store, strategy_from("semaphore"), deadline=600, progress=False)

    [outcome] = run_in_virtual_time(poller, [0])

    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    assert "unknown job status 'paused'" in outcome.error
    assert store.requests[RequestKind.GET] == 1
