"""docs/benchmarks.md shows the figures of the results it ships beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polling._bench import format_matrix_markdown, format_scale_markdown

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "docs" / "results"


def _between_markers(name: str) -> str:
    text = PAGE.read_text()
    start = text.index(f"<!-- {name}:start -->") + len(f"<!-- {name}:start -->")
    return text[start : text.index(f"<!-- {name}:end -->")].strip()


def test_benchmarks_page_has_the_tables_of_the_committed_matrix() -> None:
    """The matrix tables on the page are those of docs/results/matrix."""
    matrix = json.loads((RESULTS / "matrix" / "matrix.json").read_text())

    assert _between_markers("matrix") == format_matrix_markdown(matrix)


def test_benchmarks_page_has_the_table_of_the_committed_scale_runs() -> None:
    """The scale table on the page is that of docs/results/scale."""
    scale = json.loads((RESULTS / "scale" / "scale.json").read_text())

    assert _between_markers("scale") == format_scale_markdown(scale)


@pytest.mark.parametrize("image", ["matrix/matrix.png", "scale/scale.png"])
def test_benchmarks_page_shows_each_committed_plot(image: str) -> None:
    """Each plot the page links to is there."""
    assert f"](results/{image})" in PAGE.read_text()
    assert (RESULTS / image).read_bytes().startswith(b"\x89PNG")
