"""Odd answers about one job: unknown statuses, 404s early and late, 410."""

from __future__ import annotations

import httpx
import pytest
from faultkit import DONE, ID, OneJobServer, job, refusal

from polling import Outcome, OutcomeKind, Poller, Report
from polling.testing import run_virtual

RUNNING = job("in_progress", started_at=0.0)
NO_JOB = refusal(404, "not_found", f"no job {ID!r}")
GONE = httpx.Response(
    410,
    json={
        "error": {"code": "expired", "message": "the result has expired"},
        "job_id": ID,
        "status": "expired",
        "started_at": 0.0,
        "completed_at": 1.0,
    },
)


def _run(server: OneJobServer, grace: float = 5.0) -> tuple[Outcome, Report]:
    """Collect the one job; its outcome and the run's report."""
    poller = Poller(
        server.api(grace=grace), "semaphore:interval=1", deadline=600, progress=False
    )
    [outcome] = run_virtual(poller.collect, [{"model": "Naive"}])
    assert poller.report is not None
    return outcome, poller.report


@pytest.mark.parametrize("word", ["paused", "COMPLETED", ""])
def test_a_status_never_seen_fails_the_job_on_its_first_answer(word: str) -> None:
    """Over HTTP through the engine: `failed`, naming the word, after one get."""
    server = OneJobServer([job(word)])

    outcome, _ = _run(server)

    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    assert repr(word) in outcome.error
    assert len(server.gets) == 1


def test_a_404_right_after_submit_is_waited_out_within_the_grace() -> None:
    """Two 404s in the first 5 s (a replica behind), then running, then done."""
    server = OneJobServer([NO_JOB, NO_JOB, RUNNING, job("completed", **DONE)])

    outcome, _ = _run(server, grace=5.0)

    assert outcome.kind is OutcomeKind.COMPLETED
    assert len(server.gets) == 4


def test_a_404_past_the_grace_is_not_found() -> None:
    """A job that never shows up ends `not_found` once the grace has passed."""
    server = OneJobServer([NO_JOB])

    outcome, report = _run(server, grace=5.0)

    assert outcome.kind is OutcomeKind.NOT_FOUND
    assert 5.0 <= report.wall_time < 7.0


def test_a_job_seen_running_then_404_is_not_found_at_once() -> None:
    """Seen running one second in, then 404 at two: `not_found` at that answer,
    though the 60 s grace after its submit has not passed."""
    server = OneJobServer([RUNNING, NO_JOB])

    outcome, report = _run(server, grace=60.0)

    assert outcome.kind is OutcomeKind.NOT_FOUND
    assert len(server.gets) == 2
    assert report.wall_time < 3.0


def test_an_expired_result_is_expired_at_once() -> None:
    """A 410 ends the job `expired` on that answer: no more gets."""
    server = OneJobServer([RUNNING, GONE])

    outcome, _ = _run(server)

    assert outcome.kind is OutcomeKind.EXPIRED
    assert outcome.completed_at == 1.0
    assert len(server.gets) == 2
