"""The shared vocabulary: statuses, outcomes, capabilities, reports, wire words."""

from __future__ import annotations

import pytest

from polling import (
    Capabilities,
    Check,
    ConfigError,
    DeadlineExceeded,
    DelaySummary,
    JobId,
    JobStatus,
    OutcomeKind,
    PollingError,
    ProtocolError,
    Report,
    RequestKind,
    TransientError,
)
from polling._wire import WIRE_STATUS, status_from_wire


@pytest.mark.parametrize("status", list(JobStatus))
def test_only_pending_and_running_are_not_terminal(status: JobStatus) -> None:
    """A job is done in every status but pending and running."""
    expected = status not in (JobStatus.PENDING, JobStatus.RUNNING)
    assert status.is_terminal is expected


def test_wire_words_translate_both_ways() -> None:
    """Every status has a wire word, and each word reads back as its status."""
    assert set(WIRE_STATUS) == set(JobStatus)
    for status, word in WIRE_STATUS.items():
        assert status_from_wire(word) is status


def test_unknown_wire_word_is_an_error_not_pending() -> None:
    """An unknown status word is refused, listing the known ones."""
    with pytest.raises(ProtocolError, match="unknown job status 'done'; known: "):
        status_from_wire("done")


def test_capabilities_without_drops_only_that_kind() -> None:
    """Removing a capability leaves the others as they were."""
    caps = Capabilities(batch_status=10, feed=5, feed_wait=2.0)
    less = caps.without(RequestKind.FEED)
    assert not less.has(RequestKind.FEED)
    assert less.feed_wait is None
    assert less.has(RequestKind.BATCH_STATUS)


@pytest.mark.parametrize("kind", [RequestKind.SUBMIT, RequestKind.GET])
def test_single_calls_cannot_be_removed(kind: RequestKind) -> None:
    """Submit and get are not optional: removing one is a ConfigError."""
    with pytest.raises(ConfigError, match="is not optional"):
        Capabilities().without(kind)


def test_check_of_a_submit_is_refused() -> None:
    """A strategy's check cannot be a submit."""
    with pytest.raises(ValueError, match="cannot be a submit request"):
        Check(RequestKind.SUBMIT)


def test_get_check_covers_exactly_one_job() -> None:
    """A get with two ids is refused."""
    with pytest.raises(ValueError, match="exactly one job"):
        Check(RequestKind.GET, (JobId("a"), JobId("b")))


def test_delay_summary_uses_nearest_rank_quantiles() -> None:
    """p50 and p99 are values that were observed, never interpolated."""
    summary = DelaySummary.of([float(n) for n in range(1, 101)])
    assert (summary.p50, summary.p99, summary.max) == (50.0, 99.0, 100.0)


def test_delay_summary_of_nothing_is_zero() -> None:
    """With no delays, the summary is all zeros."""
    assert DelaySummary.of([]) == DelaySummary(0.0, 0.0, 0.0, 0)


def test_report_summary_reads_requests_outcomes_and_time() -> None:
    """The summary lists requests by kind, outcomes, delay and wall time."""
    report = Report(
        requests={RequestKind.SUBMIT: 2, RequestKind.GET: 5},
        retries=1,
        rejected=0,
        outcomes={OutcomeKind.COMPLETED: 2},
        delay=DelaySummary.of([0.5, 1.5]),
        wall_time=12.0,
    )
    assert report.total_requests == 7
    assert report.summary().splitlines() == [
        "requests: 7 (get=5, submit=2)",
        "retries: 1, rate-limit rejections: 0",
        "outcomes: completed=2",
        "detection delay: p50 0.500s, p99 1.500s, max 1.500s",
        "wall time: 12.00s",
    ]


def test_errors_also_subclass_the_builtins_they_resemble() -> None:
    """Callers catching TimeoutError or ConnectionError catch ours."""
    assert issubclass(DeadlineExceeded, TimeoutError)
    assert issubclass(TransientError, ConnectionError)
    assert issubclass(ConfigError, ValueError)
    assert issubclass(TransientError, PollingError)
