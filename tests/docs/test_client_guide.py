"""docs/client.md's examples run as written, against a real server on loopback.

They name `http://127.0.0.1:8000` and the key `secret`; the test runs the page's
own code with the address of a server it started on a free port, nothing else
changed.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "client.md"
ADDRESS = "http://127.0.0.1:8000"


def _blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), re.M | re.S)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m server` with the key `secret` on a free loopback port."""
    folder = tmp_path_factory.mktemp("client-guide")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    address = f"http://127.0.0.1:{port}"
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "--port", str(port),
             "--db", str(folder / "jobs.sqlite"), "--api-key", "secret",
             "--workers", "1", "--log-level", "warning"],
            cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        # Importing statsforecast takes seconds, many more on a loaded machine.
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{address}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError((folder / "server.log").read_text())
        yield address
    finally:
        process.terminate()
        process.wait(30)


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
