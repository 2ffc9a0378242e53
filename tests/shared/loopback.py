"""The reference server as its users run it, for the tests: `python -m server` on
a free loopback port, in a subprocess, on an SQLite file that outlives it.

Every test folder that needs a real server imports `LoopbackServer` from here
(pytest and mypy both have `tests/shared` on their path).
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx

ROOT = Path(__file__).resolve().parents[2]

_STARTUP = 120.0
"""Seconds to wait for the first health check: importing statsforecast takes
seconds, and many more on a loaded machine."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackServer:
    """`python -m server` on loopback; restarted, it keeps its port and file.

    Args:
        folder: Where its database (`jobs.sqlite`) and its log go.
        keys: The API keys it accepts.
        workers: Its forecast processes.
        log_level: Its log level; the log is `folder / "server.log"`.
    """

    def __init__(
        self,
        folder: Path,
        *,
        keys: Sequence[str],
        workers: int = 2,
        log_level: str = "warning",
    ) -> None:
        self.db = folder / "jobs.sqlite"
        self.log = folder / "server.log"
        self.port = free_port()
        self.keys = tuple(keys)
        self.workers = workers
        self.log_level = log_level
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it and wait until it answers its health check."""
        command = [sys.executable, "-m", "server", "--port", str(self.port),
                   "--db", str(self.db), "--workers", str(self.workers),
                   "--log-level", self.log_level]  # fmt: skip
        for key in self.keys:
            command += ["--api-key", key]
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + _STARTUP
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not start: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """Stop it, politely first."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def jobs(self, where: str = "1") -> int:
        """How many jobs its store holds (matching an SQL condition)."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            (count,) = db.execute(f"SELECT COUNT(*) FROM jobs WHERE {where}").fetchone()
        return int(count)

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
