"""The generated tables of the docs match the code they were generated from."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from polling import positive
from polling._cli import main
from polling._reference import (
    docstring_args,
    markers,
    parameter_table,
    parameters_of,
    splice,
    tables,
)
from polling.testing import Faults
from server._reference import config_tables

ROOT = Path(__file__).parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md"))
TABLES = {**tables(), **config_tables()}


def _with_markers() -> list[Path]:
    return [page for page in PAGES if markers(page.read_text())]


@pytest.mark.parametrize("page", _with_markers(), ids=lambda path: path.name)
def test_generated_tables_are_up_to_date(page: Path) -> None:
    """Each table between markers is what the code gives today."""
    text = page.read_text()

    for name in markers(text):
        fresh = splice(text, name, TABLES[name]())
        assert fresh == text, (
            f"{page.name}: table {name} is stale; run scripts/reference-tables"
        )


def test_every_table_has_a_place_and_every_place_a_table() -> None:
    """No marker names an unknown table, and every table is on some page."""
    placed = [name for page in PAGES for name in markers(page.read_text())]

    assert sorted(placed) == sorted(TABLES)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_parameter_and_option_has_a_meaning(name: str) -> None:
    """A row without a meaning is a parameter nobody documented."""
    rows = [row for row in TABLES[name]().splitlines() if row.startswith("| `")]

    assert rows
    undocumented = [row for row in rows if row.rstrip().endswith("|  |")]
    assert not undocumented


def test_strategy_table_lists_what_polling_strategies_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The page's parameters of each strategy are those the command lists."""
    main(["strategies"])
    listing = capsys.readouterr().out
    printed = dict(re.findall(r"^([\w-]+): .*\n    parameters: (.*)$", listing, re.M))
    page = (ROOT / "docs" / "configuration.md").read_text()
    table = page.split("<!-- reference:strategies -->")[1].split("<!-- /reference")[0]

    documented = {}
    for section in table.split("#### `")[1:]:
        name = section.split("`", 1)[0]
        documented[name] = ", ".join(re.findall(r"^\| `(\w+)` \|", section, re.M))
    assert printed
    assert documented == printed


@attrs.frozen
class _Example:
    """A strategy of a test.

    Args:
        interval: Seconds between two looks,
            said over two lines.
        names: What to look at.
    """

    interval: float = attrs.field(default=2.0, validator=positive)
    names: tuple[str, ...] = attrs.field(factory=tuple)
    """Not this: the Args entry comes first."""
    limit: int = 5
    """The most at once."""


def test_parameters_come_from_fields_args_and_field_docstrings() -> None:
    """Name, type, default and meaning, from the class alone."""
    table = parameter_table(parameters_of(_Example))

    assert table.splitlines()[2:] == [
        "| `interval` | `float` | `2.0` | Seconds between two looks, said over "
        "two lines. |",
        "| `names` | `tuple[str, ...]` | `tuple()` | What to look at. |",
        "| `limit` | `int` | `5` | The most at once. |",
    ]


def test_docstring_args_stop_at_the_next_section() -> None:
    """Entries end at a blank line or the next heading, `**options` included."""
    doc = "Do it.\n\nArgs:\n    a: First.\n    **options: The rest.\n\nReturns:\n    x"

    assert docstring_args(doc) == {"a": "First.", "options": "The rest."}


def test_fault_table_lists_every_fault_with_its_default() -> None:
    """docs/testing.md describes each field of `Faults`, default included."""
    page = (ROOT / "docs" / "testing.md").read_text()

    for field in attrs.fields(Faults):
        assert f"| `{field.name}` | {field.default} |" in page, field.name


def test_every_environment_variable_read_is_documented() -> None:
    """Each variable the packages read has a row on the configuration page."""
    source = "\n".join(
        path.read_text()
        for folder in ("polling", "server")
        for path in (ROOT / folder).rglob("*.py")
    )
    names = set(re.findall(r'environ\.get\(\s*"([A-Z_]+)"', source))
    names |= set(re.findall(r'^\w*ENV\w* = "([A-Z_]+)"$', source, re.M))
    page = (ROOT / "docs" / "configuration.md").read_text()

    assert {"POLLING_STRATEGY", "POLLING_API_KEY", "POLLING_API_KEYS"} <= names
    for name in names:
        assert f"| `{name}` |" in page, name


def test_the_scripts_rewrite_a_stale_page(tmp_path: Path) -> None:
    """Emptied tables are written back, by the core's and the server's halves."""
    from polling._reference import main as write_core
    from server._reference import main as write_server

    page = (ROOT / "docs" / "configuration.md").read_text()
    stale = page
    for name in markers(page):
        stale = splice(stale, name, "")
    copy = tmp_path / "configuration.md"
    copy.write_text(stale)

    assert write_core([str(copy)]) == 0
    assert write_server(["--tables", str(copy)]) == 0

    assert copy.read_text() == page


def test_a_page_without_its_markers_is_refused() -> None:
    """Splicing into a page that lacks the markers is an error naming them."""
    with pytest.raises(ValueError, match="reference:poller"):
        splice("no markers here", "poller", "table")
