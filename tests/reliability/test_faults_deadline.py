"""A job that never ends: the deadline ends the wait; a request timeout is separate."""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
import pytest
from anyio.abc import SocketAttribute
from faultkit import DONE, ID, OneJobServer, TaskCounter, job, serve_raw_http

from polling import HttpJobAPI, Outcome, OutcomeKind, Poller
from polling.testing import mock_clock

DEADLINE = 30.0


def test_a_job_never_leaving_running_times_out_at_the_deadline_by_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ends at exactly 30 virtual seconds, `timed_out` with its id, no task left."""
    server = OneJobServer([job("in_progress", started_at=0.0)])
    counter = TaskCounter()
    poller = Poller(
        server.api(), "semaphore:interval=1", deadline=DEADLINE, progress=False
    )

    async def scenario() -> tuple[list[Outcome], int, int]:
        before = counter.live
        outcomes = await poller.collect([{"model": "Naive"}])
        return outcomes, before, counter.live

    with caplog.at_level(logging.WARNING, logger="polling"):
        outcomes, before, after = anyio.run(
            scenario,
            backend="trio",
            backend_options={"clock": mock_clock(), "instruments": [counter]},
        )

    [outcome] = outcomes
    assert (outcome.kind, outcome.job_id) == (OutcomeKind.TIMED_OUT, ID)
    assert outcome.error == "the deadline passed"
    assert poller.report is not None
    assert poller.report.wall_time == DEADLINE
    # One get a second from the first, one second after the submit.
    assert len(server.gets) == 29
    assert f"first {ID}" in caplog.text
    assert after == before, "a task of the run outlived it"
    assert counter.most > before


@pytest.mark.anyio
async def test_a_hung_request_is_cut_by_its_own_timeout_and_retried() -> None:
    """A get the server never answers ends after the 2 s request timeout, not at
    the 60 s deadline, and the retry collects the job."""
    gets = 0

    def respond(method: str, path: str) -> tuple[int, dict[str, Any]] | None:
        nonlocal gets
        if path == "/capabilities":
            # Idempotent submits: a submit slow on a loaded machine is resent.
            return 200, {"features": ["idempotency"]}
        if method == "POST":
            return 202, {"job_id": ID, "status": "queued", "submitted_at": 0}
        gets += 1
        if gets == 1:
            return None
        return 200, {"job_id": ID, "status": "completed", **DONE}

    async with (
        await anyio.create_tcp_listener(local_host="127.0.0.1") as listener,
        anyio.create_task_group() as group,
    ):
        group.start_soon(serve_raw_http, listener, respond)
        port = listener.extra(SocketAttribute.local_port)
        async with HttpJobAPI(f"http://127.0.0.1:{port}", timeout=2.0) as api:
            poller = Poller(
                api, "semaphore:interval=0.1", deadline=60.0, progress=False
            )
            started = time.monotonic()
            [outcome] = await poller.collect([{"model": "Naive"}])
            took = time.monotonic() - started
        group.cancel_scope.cancel()

    assert outcome.kind is OutcomeKind.COMPLETED
    assert gets == 2
    assert poller.report is not None
    assert poller.report.retries == 1
    assert 2.0 <= took < 30.0
