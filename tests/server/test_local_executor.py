"""The local executor: real statsforecast models in a process pool."""

from __future__ import annotations

import anyio
import pytest
from serverkit import AIRLINE

from polling._types import JobStatus
from server import Completion, JobSpec, LocalExecutor
from server.forecast import run_forecast

pytestmark = pytest.mark.anyio


async def test_jobs_run_in_worker_processes() -> None:
    """A good request completes with `run_forecast`'s result; a bad one fails."""
    good = {"model": "AutoETS", "horizon": 4, "season_length": 12,
            "series": [{"unique_id": "airline", "values": AIRLINE}]}  # fmt: skip
    short = {"model": "SeasonalNaive", "horizon": 2, "season_length": 12,
             "series": [{"unique_id": "s", "values": [1.0, 2.0]}]}  # fmt: skip
    executor = LocalExecutor(workers=1)
    handles: list[str | None] = []

    async def started(handle: str | None) -> None:
        handles.append(handle)

    done: list[Completion] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(executor.serve)
        await anyio.wait_all_tasks_blocked()
        done.append(await executor.execute(JobSpec("a", good), started))
        done.append(await executor.execute(JobSpec("b", short), started))
        tg.cancel_scope.cancel()

    assert handles == [None, None]
    assert done[0] == Completion.completed(run_forecast(good))
    assert done[1].status is JobStatus.FAILED
    assert done[1].error is not None
    assert done[1].error["code"] == "forecast_failed"
    assert "non-finite" in done[1].error["message"]


async def test_execute_before_serve_is_an_error() -> None:
    """Without its pool the executor refuses, rather than hanging."""
    with pytest.raises(RuntimeError, match="not serving"):
        await LocalExecutor(workers=1).execute(JobSpec("a", {}), _ignore)


async def _ignore(handle: str | None) -> None:
    pass
