"""Where forecast jobs run: one small interface, a local process pool behind it."""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import multiprocessing
from collections.abc import Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final, Protocol, Self

import anyio
import attrs

from polling._types import JobStatus

from .forecast import run_forecast

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE: Final = 10.0
"""Seconds the local pool's running forecasts get to end when the server stops."""

StartedCallback = Callable[[str | None], Awaitable[None]]
"""Called by an executor once a job is running, with its handle for a restart."""


@attrs.frozen
class JobSpec:
    """One job handed to an executor."""

    job_id: str
    request: dict[str, Any]
    handle: str | None = None
    """What the executor returned for this job before a restart, if anything."""


@attrs.frozen
class Completion:
    """How a job ended, as the executor learned it."""

    status: JobStatus
    result: Any = None
    error: dict[str, str] | None = None
    completed_at: float | None = None
    """When the job finished on the executor's side; None means "when reported"."""

    @classmethod
    def completed(cls, result: Any, completed_at: float | None = None) -> Self:
        """A job that gave its result."""
        return cls(JobStatus.COMPLETED, result=result, completed_at=completed_at)

    @classmethod
    def failed(cls, code: str, message: str, completed_at: float | None = None) -> Self:
        """A job that ended with an error."""
        return cls(
            JobStatus.FAILED,
            error={"code": code, "message": message},
            completed_at=completed_at,
        )

    @classmethod
    def expired(cls) -> Self:
        """A job whose result is no longer available on the executor's side."""
        return cls(
            JobStatus.EXPIRED,
            error={"code": "expired", "message": "the result is no longer available"},
        )


class Executor(Protocol):
    """Runs forecast jobs for the server.

    The server runs `serve` for its whole life and calls `execute` once per job, at
    most `capacity` at a time. After a restart, a job that was running is executed
    again with the handle the executor gave for it, so that an executor that can
    find a job it started before (Modal) does not start it twice.
    """

    @property
    def capacity(self) -> int:
        """How many jobs may be executing at once."""
        ...

    async def serve(self) -> None:
        """Run whatever background work the executor needs, until cancelled."""
        ...

    async def execute(self, job: JobSpec, started: StartedCallback) -> Completion:
        """Run one job to its end and say how it ended."""
        ...


def _warm_up() -> None:
    """Import statsforecast in each worker before its first job."""
    import statsforecast.models  # noqa: F401  # the import is the warm-up


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class LocalExecutor:
    """A process pool computing forecasts with statsforecast on this machine.

    Args:
        workers: Processes in the pool, and jobs running at once.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        # Each job in flight waits for its future in a worker thread of its own, so
        # these waits never take threads from the store's calls.
        self._waiters = anyio.CapacityLimiter(workers)

    @property
    def capacity(self) -> int:
        """One job per process."""
        return self._workers

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        # spawn, not fork: the server process has threads (the store's workers, the
        # rate limiter's timers), and forking a threaded process can deadlock.
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm_up,
        )

    async def serve(self) -> None:
        """Hold the pool open until cancelled, then shut it down.

        Queued work is dropped and running forecasts get up to `SHUTDOWN_GRACE`
        seconds to end, so that the workers exit cleanly; jobs cut short this way
        stay unfinished in the store and run again at the next start.
        """
        self._pool = pool = self._new_pool()
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(SHUTDOWN_GRACE):
                await anyio.to_thread.run_sync(
                    functools.partial(pool.shutdown, wait=True, cancel_futures=True),
                    abandon_on_cancel=True,
                )

    async def execute(self, job: JobSpec, started: StartedCallback) -> Completion:
        """Run the forecast in a worker process."""
        if self._pool is None:
            raise RuntimeError("the local executor is not serving")

        await started(None)
        future = self._pool.submit(run_forecast, job.request)
        try:
            result = await anyio.to_thread.run_sync(
                future.result, abandon_on_cancel=True, limiter=self._waiters
            )
        except BrokenProcessPool as exc:
            logger.warning("a forecast worker died; replacing the pool")
            self._pool = self._new_pool()
            return Completion.failed("worker_crashed", _describe(exc))
        except Exception as exc:
            return Completion.failed("forecast_failed", _describe(exc))
        return Completion.completed(result)
