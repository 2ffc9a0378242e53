"""Helpers of the HTTP client tests: scripted servers and a real one on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from server import Settings, capabilities

ROOT = Path(__file__).resolve().parents[2]
KEY = "http-test-key"

CAPABILITIES: dict[str, Any] = capabilities(Settings())
"""The reference server's capability document with its default settings."""

Handler = Callable[[httpx.Request], httpx.Response]


def answer(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A JSON answer."""
    return httpx.Response(status, json=body, headers=headers)


def error(status: int, code: str, message: str) -> httpx.Response:
    """An answer in the server's error shape."""
    return answer(status, {"error": {"code": code, "message": message}})


def routes(**by_route: Handler) -> Handler:
    """A handler that answers `GET /capabilities` and sends the rest by route.

    Keys are `<method>_<path>` with slashes and dashes as underscores, e.g.
    `POST_forecast_jobs_batch_status`; a job id in the path reads as `ID`.
    """

    def handle(request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if len(parts) == 2 and parts[1].startswith("fj_"):
            parts[1] = "ID"
        name = request.method + "_" + "_".join(parts).replace("-", "_")
        if name in by_route:
            return by_route[name](request)
        if name == "GET_capabilities":
            return answer(200, CAPABILITIES)
        return error(404, "not_found", f"no route {name}")

    return handle


def ids_of(request: httpx.Request) -> list[str]:
    """The job ids a batch request asks about (JSON body or query)."""
    if request.method == "GET":
        return request.url.params.get_list("job_ids")
    body: dict[str, Any] = json.loads(request.content)
    return list(body["job_ids"])


def naive_request(values: list[float], horizon: int = 3) -> dict[str, Any]:
    """A small, fast forecast request."""
    return {
        "model": "Naive",
        "horizon": horizon,
        "series": [{"unique_id": "s", "values": values}],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m server` on a free loopback port, on a given database."""

    def __init__(self, folder: Path) -> None:
        self.db = folder / "jobs.sqlite"
        self.log = folder / "server.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server", "--port", str(self.port),
                 "--db", str(self.db), "--api-key", KEY, "--workers", "2",
                 "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        # Importing statsforecast takes seconds, many more on a loaded machine.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
