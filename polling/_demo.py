"""The demo: real forecasts on real series through the reference server on loopback.

The server runs as a subprocess (`python -m server`), so this module needs the
server's dependencies installed but never imports the `server` package: the core
talks to it over HTTP only, like any other client. The series are the datasets that
ship inside statsmodels; nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final

import anyio
import attrs
import httpx
import psutil

from ._engine import Poller
from ._errors import ConfigError
from ._http import HttpJobAPI
from ._registry import strategy_from
from ._report import Report
from ._types import JobId, Outcome

log = logging.getLogger("polling")

MODELS: Final = (
    "Naive",
    "SeasonalNaive",
    "HistoricAverage",
    "RandomWalkWithDrift",
    "AutoTheta",
)
"""The models the demo's jobs cycle through: quick ones, and one that fits."""

NAIVE_INTERVAL: Final = 2.0
"""Seconds between two checks of a pending job in the naive loop."""

_STARTUP: Final = 60.0
"""Seconds the server may take to answer its first health check."""


@attrs.frozen
class Series:
    """One real series: a name, its values oldest first, its season and horizon."""

    name: str
    values: tuple[float, ...]
    season_length: int
    horizon: int


def demo_series() -> list[Series]:
    """The series of the demo, from the datasets bundled with statsmodels.

    Raises:
        ConfigError: statsmodels is not installed.
    """
    try:
        from statsmodels import datasets  # type: ignore[import-untyped]
    except ImportError as error:
        raise ConfigError(
            "polling demo needs statsmodels for its series: pip install statsmodels"
        ) from error

    co2 = datasets.co2.load_pandas().data["co2"].resample("MS").mean().dropna()
    sunspots = datasets.sunspots.load_pandas().data["SUNACTIVITY"]
    elnino = datasets.elnino.load_pandas().data.drop(columns="YEAR")
    nile = datasets.nile.load_pandas().data["volume"]
    macro = datasets.macrodata.load_pandas().data
    series = [
        Series("co2", _values(co2), 12, 12),
        Series("sunspots", _values(sunspots), 11, 11),
        Series("elnino", _values(elnino.to_numpy().ravel()), 12, 12),
        Series("nile", _values(nile), 1, 10),
    ]
    for column in ("realgdp", "realcons", "realinv", "cpi", "m1", "unemp"):
        series.append(Series(f"macro-{column}", _values(macro[column]), 4, 8))
    return series


def _values(column: Any) -> tuple[float, ...]:
    return tuple(float(value) for value in column)


def demo_requests(count: int) -> list[dict[str, Any]]:
    """`count` distinct forecast requests over the demo's series.

    Job `i` takes series `i` modulo their number, cut a little shorter on each
    pass over them (so that no two requests are the same), with the models in turn.
    """
    pool = demo_series()
    requests = []
    for index in range(count):
        series = pool[index % len(pool)]
        lap = index // len(pool)
        cut = lap % max(1, len(series.values) // 2)
        values = series.values[: len(series.values) - cut]
        requests.append(
            {
                "model": MODELS[index % len(MODELS)],
                "horizon": series.horizon,
                "season_length": series.season_length,
                "series": [{"unique_id": f"{series.name}-{index}", "values": values}],
            }
        )
    return requests


def naive_loop_requests(
    outcomes: Sequence[Outcome], submitted_at: Mapping[JobId, float]
) -> int:
    """The requests the naive loop would send for the same jobs, about.

    The naive loop submits each job on its own, then gets every pending job every
    `NAIVE_INTERVAL` seconds until it has finished. This counts, for every job, one
    submit and the gets from when it was submitted to when it finished (both on the
    server's clock, unix seconds). It leaves out that the naive loop's one-by-one
    submits would themselves be slower than a batch.
    """
    total = len(outcomes)
    for outcome in outcomes:
        start = submitted_at.get(outcome.job_id) if outcome.job_id else None
        if outcome.completed_at is None or start is None:
            total += 1
            continue
        waited = max(0.0, outcome.completed_at - start)
        total += math.floor(waited / NAIVE_INTERVAL) + 1
    return total


class _TimedSubmits(HttpJobAPI):
    """The HTTP API, noting when each job's submit was answered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submitted_at: dict[JobId, float] = {}

    async def submit(self, request: Any, *, idempotency_key: str | None) -> JobId:
        job_id = await super().submit(request, idempotency_key=idempotency_key)
        self.submitted_at[job_id] = self.clock()
        return job_id

    async def submit_many(
        self, requests: Sequence[Any], *, idempotency_keys: Sequence[str | None]
    ) -> list[JobId]:
        job_ids = await super().submit_many(requests, idempotency_keys=idempotency_keys)
        now = self.clock()
        self.submitted_at.update(dict.fromkeys(job_ids, now))
        return job_ids


@attrs.frozen
class DemoRun:
    """What one demo run collected and what it cost.

    Attributes:
        strategy: The strategy spec it ran.
        requests: The forecast requests, in input order.
        outcomes: One per request, in input order.
        report: The poller's report.
        naive_estimate: About how many requests the naive loop would have sent.
        client_cpu: CPU seconds of this process while it collected.
        server_cpu: CPU seconds of the server's web process over the same time
            (its forecast processes not included); None where it cannot be read.
    """

    strategy: str
    requests: list[dict[str, Any]]
    outcomes: list[Outcome]
    report: Report
    naive_estimate: int
    client_cpu: float
    server_cpu: float | None

    def summary(self) -> str:
        """The report, CPU per job and per request, and the naive estimate."""
        report = self.report
        jobs = max(1, len(self.outcomes))
        requests = max(1, report.total_requests)
        lines = [
            f"{len(self.outcomes)} forecasts, strategy {self.strategy}:",
            report.summary(),
            f"client CPU: {self.client_cpu:.1f}s "
            f"({1000 * self.client_cpu / jobs:.2f} ms per job)",
        ]
        if self.server_cpu is not None:
            lines.append(
                f"server CPU (web process): {self.server_cpu:.1f}s "
                f"({1000 * self.server_cpu / requests:.2f} ms per request)"
            )
        ratio = self.naive_estimate / requests
        lines.append(
            f"the naive loop: about {self.naive_estimate} requests for the same jobs "
            f"({ratio:.1f} times as many)"
        )
        return "\n".join(lines)


@attrs.frozen
class LocalServer:
    """The reference server running on loopback: where, its key, its process."""

    url: str
    key: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU time of the web process so far; None once it is gone."""
        try:
            times = psutil.Process(self.pid).cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_server(folder: Path, *, workers: int | None = None) -> Iterator[LocalServer]:
    """Run the reference server on loopback on a database in `folder`.

    Yields where it listens and the random API key it accepts; stops it on exit.

    Raises:
        ConfigError: The server did not start (its log is in the message).
    """
    port = _free_port()
    key = secrets.token_urlsafe(24)
    command = [
        sys.executable,
        "-m",
        "server",
        "--port",
        str(port),
        "--db",
        str(folder / "jobs.db"),
        "--api-key",
        key,
        "--log-level",
        "warning",
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    log_path = folder / "server.log"
    with log_path.open("wb") as server_log:
        process = subprocess.Popen(
            command, stdout=server_log, stderr=subprocess.STDOUT, env=dict(os.environ)
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield LocalServer(url, key, process.pid)
    finally:
        _stop(process)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + _STARTUP
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise ConfigError(f"the reference server did not start:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(15)


async def collect_demo(
    server: LocalServer,
    requests: Sequence[dict[str, Any]],
    *,
    strategy: str = "stack",
    progress: bool | None = None,
) -> DemoRun:
    """Submit the requests to the server and collect every result."""
    client_before = time.process_time()
    server_before = server.cpu_seconds()
    async with _TimedSubmits(server.url, api_key=server.key) as api:
        poller = Poller(api, strategy_from(strategy), progress=progress)
        outcomes = await poller.collect(requests)
    assert poller.report is not None  # collect always leaves its report
    server_after = server.cpu_seconds()
    server_cpu = None
    if server_before is not None and server_after is not None:
        server_cpu = server_after - server_before
    return DemoRun(
        strategy,
        list(requests),
        outcomes,
        poller.report,
        naive_loop_requests(outcomes, api.submitted_at),
        client_cpu=time.process_time() - client_before,
        server_cpu=server_cpu,
    )


def run_demo(
    *,
    jobs: int,
    strategy: str = "stack",
    out: Path,
    progress: bool | None = None,
    workers: int | None = None,
    compare: Sequence[str] = (),
) -> list[DemoRun]:
    """The whole demo: a server in a temporary folder, the jobs, the results file.

    Args:
        jobs: How many forecast jobs.
        strategy: The strategy whose results are written to `out`.
        out: The results file, JSON lines.
        progress: Show progress bars; by default only on a terminal.
        workers: The server's forecast processes; by default one per CPU.
        compare: Strategies run after it on the same server and the same requests
            (as new jobs), for their reports side by side.

    Returns:
        The run of `strategy`, then one per strategy in `compare`.
    """
    for name in (strategy, *compare):
        strategy_from(name)  # a bad name fails before the server starts
    requests = demo_requests(jobs)
    runs = []
    with (
        tempfile.TemporaryDirectory(prefix="polling-demo-") as folder,
        local_server(Path(folder), workers=workers) as server,
    ):
        for name in (strategy, *compare):
            runs.append(anyio.run(_collect, server, requests, name, progress))
    with out.open("w") as file:
        write_results(runs[0], file)
    return runs


async def _collect(
    server: LocalServer,
    requests: Sequence[dict[str, Any]],
    strategy: str,
    progress: bool | None,
) -> DemoRun:
    return await collect_demo(server, requests, strategy=strategy, progress=progress)


def write_results(run: DemoRun, file: IO[str]) -> None:
    """One JSON line per job, in input order: its series, model and outcome."""
    for outcome in run.outcomes:
        request = run.requests[outcome.index]
        line = {
            "index": outcome.index,
            "job_id": outcome.job_id,
            "series": request["series"][0]["unique_id"],
            "model": request["model"],
            "outcome": outcome.kind.value,
            "result": outcome.result,
            "error": outcome.error,
            "completed_at": outcome.completed_at,
        }
        file.write(json.dumps(line) + "\n")
