"""The docs stay true: their examples are files the suite runs.

Every `python` and `toml` block of README.md and docs/*.md is a part of a file in
docs/examples/, which the suite runs: the `test_*.py` files as tests, the others
as scripts (below), the TOML files through the tests that load them. The blocks
of a page in `RUN_IN_PLACE` are run from the page itself, by the test named
there. Every `polling` and `python -m server` command shown is one the parsers
accept.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

import polling
from polling._cli import _parser

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
EXAMPLE_FILES = sorted([*EXAMPLES.glob("*.py"), *EXAMPLES.glob("*.toml")])

SHOWN_WHOLE = {
    "custom_strategy.py": "strategies.md",
    "test_custom_strategy.py": "strategies.md",
    "first_collection.py": "getting-started.md",
    "first_collection_async.py": "getting-started.md",
    "read_a_report.py": "getting-started.md",
    "test_my_strategy.py": "testing.md",
}
"""The examples a page shows whole, as the suite runs them."""

RUN_IN_PLACE = {"client.md": "test_client_guide.py"}
"""Pages whose examples a test in tests/docs runs as the page writes them."""

SCRIPT_OUTPUT = {
    "custom_strategy.py": "",
    "first_collection.py": "100 of 100 completed",
    "first_collection_async.py": "[0, 1, 2, 3, 4]",
    "read_a_report.py": "first failure: job 0",
    "server_in_process.py": "202 queued",
}
"""What each example that is not a test prints when run, in part."""

OUTPUT_SHOWN = {"read_a_report.py": "getting-started.md"}
"""The examples whose whole output a page shows, as a `text` block."""


@attrs.frozen
class Block:
    """A fenced code block of a page."""

    page: Path
    line: int
    language: str
    text: str

    def __str__(self) -> str:
        return f"{self.page.name}:{self.line}"


def _blocks(*languages: str) -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
            if match.group(1) in languages:
                line = text.count("\n", 0, match.start()) + 1
                found.append(Block(page, line, match.group(1), match.group(2)))
    return found


def _part_of(block: str, source: str) -> bool:
    """Whether the block's lines are consecutive lines of the source, all
    indented alike there (an excerpt of a function's body reads unindented)."""
    wanted = block.rstrip("\n").split("\n")
    lines = source.split("\n")
    for indent in ("", "    ", "        "):
        shifted = [indent + line if line else "" for line in wanted]
        for start in range(len(lines) - len(shifted) + 1):
            window = [line.rstrip() for line in lines[start : start + len(shifted)]]
            if window == shifted:
                return True
    return False


@pytest.mark.parametrize("block", _blocks("python", "toml"), ids=str)
def test_each_code_block_is_part_of_an_example_the_suite_runs(block: Block) -> None:
    """A `python` or `toml` block is a run of lines of one file in docs/examples."""
    if block.page.name in RUN_IN_PLACE:
        runner = Path(__file__).parent / RUN_IN_PLACE[block.page.name]
        assert block.page.name in runner.read_text()
        return
    suffix = ".py" if block.language == "python" else ".toml"
    sources = [path for path in EXAMPLE_FILES if path.suffix == suffix]

    assert any(_part_of(block.text, path.read_text()) for path in sources), (
        f"{block}: this {block.language} block is in no file of docs/examples"
    )


@pytest.mark.parametrize("name", sorted(SHOWN_WHOLE))
def test_a_complete_example_is_shown_whole(name: str) -> None:
    """The page that promises a complete example holds the file verbatim."""
    page = (DOCS / SHOWN_WHOLE[name]).read_text()
    text = (EXAMPLES / name).read_text()

    assert f"```python\n{text}```" in page


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda path: path.name)
def test_every_example_is_shown_on_a_page(example: Path) -> None:
    """No example file is an orphan: some block of some page comes from it."""
    language = "python" if example.suffix == ".py" else "toml"
    source = example.read_text()

    assert any(_part_of(block.text, source) for block in _blocks(language))


def _scripts() -> list[Path]:
    return [path for path in EXAMPLES.glob("*.py") if not path.name.startswith("test")]


@pytest.mark.parametrize("script", _scripts(), ids=lambda path: path.name)
def test_script_examples_run_and_print_what_they_say(
    script: Path, tmp_path: Path
) -> None:
    """Each example that is not a test runs to its end and prints its result.

    Each runs in a process of its own, in an empty folder, as a user would run it.
    """
    assert script.name in SCRIPT_OUTPUT, f"say what {script.name} prints"

    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert SCRIPT_OUTPUT[script.name] in done.stdout
    if script.name in OUTPUT_SHOWN:
        page = (DOCS / OUTPUT_SHOWN[script.name]).read_text()
        assert f"```text\n{done.stdout}```" in page, "the page shows other output"


def _commands() -> list[tuple[Block, list[str]]]:
    """The `polling` and `python -m server` commands of the console blocks."""
    found = []
    for block in _blocks("console"):
        text = block.text.replace("\\\n", " ")
        for line in text.splitlines():
            if not line.startswith("$ "):
                continue
            for part in line[2:].split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0].endswith("polling"):
                    found.append((block, ["polling", *words[1:]]))
                elif words[:3] == ["python", "-m", "server"]:
                    found.append((block, words))
    return found


@pytest.mark.parametrize(
    ("block", "argv"), _commands(), ids=[str(block) for block, _ in _commands()]
)
def test_every_command_shown_is_accepted(block: Block, argv: list[str]) -> None:
    """Each command line parses, and each `--strategy` it names builds."""
    if argv[0] == "python":
        from server.cli import add_arguments

        parser = argparse.ArgumentParser(prog="python -m server")
        add_arguments(parser)
        parser.parse_args(argv[3:])
        return

    args = _parser().parse_args(argv[1:])

    for flag in ("strategy", "compare"):
        given = getattr(args, flag, None) or []
        for spec in [given] if isinstance(given, str) else given:
            polling.strategy_from(spec)


def _exports() -> list[str]:
    values = []
    for block in _blocks("console"):
        for line in block.text.splitlines():
            if line.startswith("$ export POLLING_STRATEGY="):
                values.append(shlex.split(line[2:])[1].partition("=")[2])
    return values


@pytest.mark.parametrize("value", _exports())
def test_every_strategy_variable_shown_builds(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each `export POLLING_STRATEGY=...` of the docs gives a strategy."""
    monkeypatch.setenv("POLLING_STRATEGY", value)

    assert isinstance(polling.strategy_from_env(), polling.PollStrategy)


def test_the_docs_show_their_commands_and_variables() -> None:
    """The checks above have something to check."""
    assert len(_commands()) >= 10
    assert len(_exports()) >= 2


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_links_between_pages_lead_somewhere(page: Path) -> None:
    """Every relative link of a page names a file of the repository."""
    targets = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text())

    missing = [t for t in targets if not (page.parent / t).exists()]
    assert not missing


def test_readme_links_to_every_doc_page() -> None:
    """README.md is the way in: it links to each page of docs/."""
    readme = (ROOT / "README.md").read_text()

    for page in sorted(DOCS.glob("*.md")):
        assert f"(docs/{page.name})" in readme, page.name


def test_strategy_guide_has_its_measured_tables() -> None:
    """The figures section holds the tables that scripts/strategy-figures wrote."""
    guide = (ROOT / "docs" / "strategies.md").read_text()
    start = guide.index("<!-- figures:start -->")
    end = guide.index("<!-- figures:end -->")

    assert guide[start:end].count("| `stack") >= 4
