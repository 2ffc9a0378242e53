"""The docs stay true: their examples are the files the suite runs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_strategy_guide_shows_each_example_whole(example: Path) -> None:
    """docs/strategies.md holds every example file verbatim, as the suite runs it."""
    guide = (ROOT / "docs" / "strategies.md").read_text()

    assert f"```python\n{example.read_text()}```" in guide


def test_strategy_guide_has_its_measured_tables() -> None:
    """The figures section holds the tables that scripts/strategy-figures wrote."""
    guide = (ROOT / "docs" / "strategies.md").read_text()
    start = guide.index("<!-- figures:start -->")
    end = guide.index("<!-- figures:end -->")

    assert guide[start:end].count("| `stack") >= 4
