"""docs/client.md's examples run as written, against a real server on loopback.

They name `http://127.0.0.1:8000` and the key `secret`; the test runs the page's
own code with the address of a server it started on a free port, nothing else
changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackServer

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "client.md"
ADDRESS = "http://127.0.0.1:8000"


def _blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), re.M | re.S)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m server` with the key `secret` on a free loopback port."""
    folder = tmp_path_factory.mktemp("client-guide")
    with LoopbackServer(folder, keys=["secret"], workers=1) as server:
        yield server.url


def test_the_page_shows_two_examples_on_the_documented_address() -> None:
    """The page's examples talk to the address this test replaces."""
    blocks = _blocks()

    assert len(blocks) == 2
    assert all(ADDRESS in block for block in blocks)


def test_the_examples_collect_every_job(
    url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run in turn, as a reader would: 100 forecasts, then the same again through
    the forecast client with a journal; every one completes."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "client_guide"}

    for block in _blocks():
        code = compile(block.replace(ADDRESS, url), str(PAGE), "exec")
        exec(code, namespace)

    outcomes = namespace["outcomes"]
    assert len(outcomes) == 100
    assert all(outcome.ok for outcome in outcomes)
    assert capsys.readouterr().out.count("outcomes: completed=100") == 2
    assert (tmp_path / "run.journal").exists()
