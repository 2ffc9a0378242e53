"""One failure and one timeout among 100 jobs: 98 results, 2 errors, in order."""

from __future__ import annotations

import re

import pytest

from polling import OutcomeKind, Poller
from polling.testing import SimulatedJobStore, check_outcomes, run_in_virtual_time

FAILS = 17
HANGS = 42


def test_one_failure_and_one_timeout_among_100_keep_input_order_and_close_the_bar(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """98 completed with their own results, job 17 `failed` with the server's
    error, job 42 `timed_out` at the deadline; both bars end at 100/100."""
    store = SimulatedJobStore(
        duration_of=lambda n: 10_000.0 if n == HANGS else 1.0 + n % 7,
        fails_of=lambda n: n == FAILS,
    )
    poller = Poller(store, "stack", deadline=600, progress=True, seed=0)

    outcomes = run_in_virtual_time(poller, list(range(100)))

    check_outcomes(outcomes, range(100))
    assert [o.index for o in outcomes] == list(range(100))
    kinds = {o.index: o.kind for o in outcomes if o.kind is not OutcomeKind.COMPLETED}
    assert kinds == {FAILS: OutcomeKind.FAILED, HANGS: OutcomeKind.TIMED_OUT}
    assert outcomes[FAILS].error == "the job failed"
    assert outcomes[HANGS].error == "the deadline passed"
    assert poller.report is not None
    assert poller.report.outcomes == {
        OutcomeKind.COMPLETED: 98,
        OutcomeKind.FAILED: 1,
        OutcomeKind.TIMED_OUT: 1,
    }
    bars = capsys.readouterr().err
    for name in ("submit", "collect"):
        last = re.findall(rf"{name}: .*?(\d+)/100", bars)[-1]
        assert last == "100", f"the {name} bar closed at {last}/100"
