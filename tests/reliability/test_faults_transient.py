"""Passing faults mid-poll are retried; refusals fail at once with the message."""

from __future__ import annotations

import anyio
import httpx
import pytest
from faultkit import DONE, OneJobServer, job, refusal

from polling import AuthError, Outcome, OutcomeKind, Poller
from polling.testing import run_virtual

RUNNING = job("in_progress", started_at=0.0)
COMPLETED = job("completed", **DONE)

FAULTS: dict[str, list[httpx.Response | Exception]] = {
    "503": [httpx.Response(503, text="restarting")],
    "502": [httpx.Response(502, text="bad gateway")],
    "reset": [httpx.ReadError("[Errno 104] Connection reset by peer")],
    "refused": [httpx.ConnectError("[Errno 111] Connection refused")],
    "five 503s": [httpx.Response(503, text="restarting")] * 5,
}


def _poller(server: OneJobServer) -> Poller:
    return Poller(
        server.api(), "semaphore:interval=1", deadline=600, progress=False, seed=0
    )


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_transient_fault_mid_poll_is_retried_and_never_fails_the_job(
    fault: list[httpx.Response | Exception],
) -> None:
    """Running, then the fault, then completed: the job completes, one retry per
    fault, and no outcome is `failed`."""
    server = OneJobServer([RUNNING, *fault, COMPLETED])
    poller = _poller(server)

    [outcome] = run_virtual(poller.collect, [{"model": "Naive"}])

    assert outcome.kind is OutcomeKind.COMPLETED
    assert outcome.result == DONE["result"]
    assert len(server.gets) == 2 + len(fault)
    assert poller.report is not None
    assert poller.report.retries == len(fault)
    assert poller.report.outcomes == {OutcomeKind.COMPLETED: 1}


@pytest.mark.parametrize("code", [401, 403])
def test_a_refused_key_mid_poll_fails_the_run_at_once_with_the_message(
    code: int,
) -> None:
    """A 403 to a get raises `AuthError` with the server's words, at the first get
    (one virtual second in), not after the 600 s deadline."""
    server = OneJobServer(
        [RUNNING, refusal(code, "forbidden", "key revoked by the operator")]
    )
    poller = _poller(server)
    failed_at: list[float] = []

    async def scenario() -> None:
        try:
            await poller.collect([{"model": "Naive"}])
        except AuthError:
            failed_at.append(anyio.current_time())
            raise

    with pytest.raises(AuthError, match="key revoked by the operator"):
        run_virtual(scenario)
    assert len(server.gets) == 2
    assert failed_at[0] < 3.0


def test_a_400_to_a_submit_fails_that_job_at_once_with_the_message() -> None:
    """A refused submit ends `failed` carrying the server's message, no retry."""
    rejected = refusal(400, "malformed_json", "the body is not valid JSON")
    server = OneJobServer([COMPLETED], submit=rejected)
    poller = Poller(server.api(), "semaphore", deadline=600, progress=False)

    outcomes: list[Outcome] = run_virtual(poller.collect, [{"model": "Naive"}])

    [outcome] = outcomes
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    assert "400 malformed_json: the body is not valid JSON" in outcome.error
    assert len(server.arrivals("POST /forecast-jobs")) == 1
    assert server.gets == []
    assert poller.report is not None
    assert poller.report.wall_time == 0.0
