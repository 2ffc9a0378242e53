"""The deadline runs on a monotonic clock: wall-clock jumps change nothing."""

from __future__ import annotations

import time

import anyio
import pytest
from faultkit import DONE, OneJobServer, job

from polling import OutcomeKind, Poller, Report
from polling.testing import run_in_virtual_time

HOURS = 6 * 3600.0
JUMP_AT = 5.0
"""Virtual seconds into the run when the wall clock jumps."""
_REAL_TIME = time.time


def _jump_the_wall_clock(monkeypatch: pytest.MonkeyPatch, offset: float) -> None:
    """From `JUMP_AT` virtual seconds on, `time.time()` is `offset` seconds off."""
    start = _REAL_TIME()

    def wall_clock() -> float:
        try:
            now = anyio.current_time()
        except RuntimeError:
            return _REAL_TIME()
        return start + now + (offset if now >= JUMP_AT else 0.0)

    monkeypatch.setattr(time, "time", wall_clock)


def _run(script_length: int, deadline: float) -> tuple[OutcomeKind, Report, int]:
    running = job("in_progress", started_at=0.0)
    server = OneJobServer([running] * script_length + [job("completed", **DONE)])
    poller = Poller(server.api(), "stack", deadline=deadline, progress=False, seed=0)
    [outcome] = run_in_virtual_time(poller, [{"model": "Naive"}])
    assert poller.report is not None
    return outcome.kind, poller.report, len(server.gets)


@pytest.mark.parametrize("offset", [HOURS, -HOURS], ids=["forward", "back"])
def test_a_wall_clock_jump_changes_no_count_and_no_time(
    monkeypatch: pytest.MonkeyPatch, offset: float
) -> None:
    """Six hours forward or back mid-run: the same gets, the same virtual end."""
    kind, steady, gets = _run(script_length=20, deadline=600)
    _jump_the_wall_clock(monkeypatch, offset)

    jumped_kind, jumped, jumped_gets = _run(script_length=20, deadline=600)

    assert kind is jumped_kind is OutcomeKind.COMPLETED
    assert jumped_gets == gets == 21
    assert jumped.requests == steady.requests
    assert jumped.wall_time == steady.wall_time


@pytest.mark.parametrize("offset", [HOURS, -HOURS], ids=["forward", "back"])
def test_a_wall_clock_jump_moves_no_deadline(
    monkeypatch: pytest.MonkeyPatch, offset: float
) -> None:
    """A job that never ends times out at 30 virtual seconds, jump or no jump."""
    _jump_the_wall_clock(monkeypatch, offset)

    kind, report, _ = _run(script_length=10_000, deadline=30)

    assert kind is OutcomeKind.TIMED_OUT
    assert report.wall_time == 30.0
