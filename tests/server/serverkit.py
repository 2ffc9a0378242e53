"""Helpers of the server tests: keys, requests, a controlled executor, an app runner."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
from fastapi import FastAPI

from server import Completion, JobSpec, StartedCallback
from server.forecast import run_forecast

KEY = "test-key-one"
OTHER_KEY = "test-key-two"
AUTH = {"Authorization": f"Bearer {KEY}"}
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_KEY}"}
EPOCH = 1_700_000_000.0
"""Virtual wall-clock time at the start of a test's event loop."""

AIRLINE = [
    112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118,
    115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,
    145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166,
    171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194,
]  # fmt: skip


def naive_request(
    values: list[float] | None = None, horizon: int = 3
) -> dict[str, Any]:
    """A small, fast forecast request."""
    return {
        "model": "Naive",
        "horizon": horizon,
        "series": [{"unique_id": "s", "values": values or [1.0, 2.0, 3.0]}],
    }


def virtual_clock() -> float:
    """Unix seconds that advance with the event loop's (possibly mock) clock."""
    return EPOCH + anyio.current_time()


class ControlledExecutor:
    """An in-process executor whose jobs take scripted virtual time.

    A job whose request has a series id listed in `durations` takes that long
    (default `duration`); one listed in `failures` fails with that message; one in
    `hangs` never ends. Results are computed in process with `run_forecast`.
    """

    def __init__(
        self,
        *,
        duration: float = 0.01,
        capacity: int = 1000,
        durations: dict[str, float] | None = None,
        failures: dict[str, str] | None = None,
        hangs: frozenset[str] = frozenset(),
    ) -> None:
        self.duration = duration
        self._capacity = capacity
        self.durations = durations or {}
        self.failures = failures or {}
        self.hangs = hangs
        self.executed: list[str] = []

    @property
    def capacity(self) -> int:
        return self._capacity

    async def serve(self) -> None:
        await anyio.sleep_forever()

    async def execute(self, job: JobSpec, started: StartedCallback) -> Completion:
        self.executed.append(job.job_id)
        await started(f"handle-{job.job_id}")
        name = job.request["series"][0]["unique_id"]
        if name in self.hangs:
            await anyio.sleep_forever()
        await anyio.sleep(self.durations.get(name, self.duration))
        if name in self.failures:
            return Completion.failed("forecast_failed", self.failures[name])
        return Completion.completed(run_forecast(job.request))


AppFactory = Callable[..., FastAPI]


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan and give a client talking to it in process."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http,
    ):
        yield http
