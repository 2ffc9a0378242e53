"""The real server killed with SIGKILL mid-run and started again: nothing lost."""

from __future__ import annotations

import math
from pathlib import Path

import anyio
import pytest
from faultkit import KEY, forecast, reference_server
from loopback import LoopbackServer

from polling import Backoff, HttpJobAPI, Outcome, OutcomeKind, Poller

QUICK = 6
SLOW = 6


def _slow_forecast(n: int) -> dict[str, object]:
    """An AutoARIMA forecast of a seasonal series: about a second of work."""
    values = [100 + 20 * math.sin(2 * math.pi * t / 12) + t + n for t in range(96)]
    return {
        "model": "AutoARIMA",
        "horizon": 12,
        "season_length": 12,
        "series": [{"unique_id": f"slow-{n}", "values": values}],
    }


REQUESTS = [forecast(f"quick-{n}") for n in range(QUICK)] + [
    _slow_forecast(n) for n in range(SLOW)
]


async def _kill_and_restart_mid_run(server: LoopbackServer) -> int:
    """Once every job is stored and some are done, SIGKILL the server and start it
    again on the same file; how many jobs were unfinished at the kill."""
    total = len(REQUESTS)
    with anyio.fail_after(120):
        while not (server.jobs() == total and server.jobs("status = 'completed'") >= 1):
            await anyio.sleep(0.05)
    await anyio.to_thread.run_sync(server.kill)
    unfinished = server.jobs("status IN ('pending', 'running')")
    await anyio.to_thread.run_sync(server.start)
    return unfinished


@pytest.mark.anyio
# The fault is the server process's: one client backend shows it.
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_server_killed_and_restarted_mid_run_loses_and_doubles_no_job(
    tmp_path: Path, anyio_backend: str
) -> None:
    """12 jobs, SIGKILL with some unfinished, restart: every job completes once,
    12 jobs stored, 12 distinct ids, and the client rode it out on retries."""
    server = reference_server(tmp_path)
    server.start()
    unfinished: list[int] = []
    outcomes: list[Outcome] = []
    try:
        async with HttpJobAPI(server.url, api_key=KEY, timeout=30) as api:
            # Retries patient enough for a restart that imports statsforecast.
            poller = Poller(
                api,
                "stack",
                deadline=300,
                progress=False,
                backoff=Backoff(initial=0.5, cap=2.0, attempts=200),
            )

            async def collect() -> None:
                outcomes.extend(await poller.collect(REQUESTS))

            async def kill() -> None:
                unfinished.append(await _kill_and_restart_mid_run(server))

            async with anyio.create_task_group() as group:
                group.start_soon(collect)
                group.start_soon(kill)
    finally:
        server.stop()

    assert unfinished[0] > 0, "every job ended before the kill: nothing was shown"
    assert [o.kind for o in outcomes] == [OutcomeKind.COMPLETED] * len(REQUESTS)
    assert len({o.job_id for o in outcomes}) == len(REQUESTS)
    assert server.jobs() == len(REQUESTS)
    assert poller.report is not None
    assert poller.report.retries >= 1
