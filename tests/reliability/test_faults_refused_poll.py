"""A poll the server refuses (400, 422) fails its job at once, with the message."""

from __future__ import annotations

import pytest
from faultkit import OneJobServer, job, refusal

from polling import OutcomeKind, Poller
from polling.testing import run_virtual


@pytest.mark.parametrize("code", [400, 422])
def test_a_refused_poll_fails_the_job_at_once_with_the_servers_message(
    code: int,
) -> None:
    """Running, then a 4xx refusal: the job ends `failed` with the server's words
    after that one get, instead of being asked again until the deadline."""
    server = OneJobServer(
        [
            job("in_progress", started_at=0.0),
            refusal(code, "invalid_request", "job_id: not a job id this server gave"),
        ]
    )
    poller = Poller(server.api(), "semaphore:interval=1", deadline=60, progress=False)

    [outcome] = run_virtual(poller.collect, [{"model": "Naive"}])

    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    assert "not a job id this server gave" in outcome.error
    assert len(server.gets) == 2
    assert poller.report is not None
    assert poller.report.wall_time < 3.0
