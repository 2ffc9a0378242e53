"""Reading `Retry-After` in both of its forms."""

from __future__ import annotations

import pytest

from polling import retry_after_seconds

# 2026-10-21 07:28:00 UTC
NOW = 1_792_567_680.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),
    ],
)
def test_both_forms_give_seconds_from_now(header: str, seconds: float) -> None:
    """A number is seconds; an HTTP date is the time until it (0 once past)."""
    assert retry_after_seconds(header, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("header", [None, "", "soon", "inf", "nan", "Wed, 99 Foo"])
def test_garbage_gives_none_for_the_backoff_to_handle(header: str | None) -> None:
    """An unusable header is None, never an exception or a wait of its own."""
    assert retry_after_seconds(header, now=NOW) is None


def test_a_negative_number_is_passed_on_for_the_budget_to_refuse() -> None:
    """A negative wait is reported as given; the budget's bounds refuse it."""
    assert retry_after_seconds("-5", now=NOW) == -5.0
