"""The Modal executor: one Modal function call per job, completions pushed back.

The job function (`forecast_job` in `server/modal_app.py`) computes the forecast and
records its own completion twice: in a `modal.Dict` under the job id (durable for 7
days, read once per job after a restart) and as a message on a `modal.Queue`, which
the executor drains up to a thousand completions per call. Status requests read the
server's store only, so no Modal call is made per job per poll.

A job whose container died before it could record anything sends no message. The
executor asks the call itself about such a job (`FunctionCall.get(timeout=0)`, one
call per job) only after `check_after` seconds without news, then at doubling
intervals up to `check_max`.

Modal's `.aio` calls run on asyncio only: this executor needs the asyncio backend.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import anyio
import attrs
import modal
import modal.exception

from polling._types import JobStatus

from ._executors import Completion, JobSpec, StartedCallback
from .forecast import run_forecast

logger = logging.getLogger(__name__)

APP_NAME: Final = "pollstack"
FUNCTION_NAME: Final = "forecast_job"
RESULTS_DICT: Final = "pollstack-results"
COMPLETIONS_QUEUE: Final = "pollstack-completions"


def job_record(
    job_id: str,
    request: Mapping[str, Any],
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Run one job and describe how it ended, as the job function records it.

    Every exception of the forecast is caught and recorded here. The job itself
    never raises, so `FunctionCall.get` raises only for Modal's own reasons: a job
    that raised the builtin `TimeoutError` would otherwise look pending forever.
    """
    try:
        result = run_forecast(request)
    except Exception as exc:
        return {
            "job_id": job_id,
            "status": JobStatus.FAILED.value,
            "completed_at": clock(),
            "error": {
                "code": "forecast_failed",
                "message": f"{type(exc).__name__}: {exc}",
            },
        }
    return {
        "job_id": job_id,
        "status": JobStatus.COMPLETED.value,
        "completed_at": clock(),
        "result": result,
    }


def completion_of(record: Mapping[str, Any]) -> Completion:
    """The completion a job record describes."""
    completed_at = record.get("completed_at")
    if record.get("status") == JobStatus.COMPLETED.value:
        return Completion.completed(record.get("result"), completed_at)
    error = record.get("error") or {}
    return Completion.failed(
        str(error.get("code", "forecast_failed")),
        str(error.get("message", "the job failed")),
        completed_at,
    )


@attrs.define
class _Pending:
    event: anyio.Event
    record: Mapping[str, Any] | None = None


class ModalExecutor:
    """Runs each job as a spawned call of a Modal function.

    Args:
        function: The job function (its `.spawn.aio(job_id, request)` is used).
        from_id: Builds a call handle from a call id, as `modal.FunctionCall.from_id`.
        results: The `modal.Dict` the job function records completions in.
        completions: The `modal.Queue` it also puts each record on.
        capacity: Most jobs in flight at once; Modal accepts up to a million
            spawned inputs per function.
        drain_batch: Most completions taken from the queue per call.
        drain_timeout: Seconds one queue read blocks when the queue is empty.
        check_after: Seconds without news before a job's call is asked directly.
        check_max: The longest interval between two such direct checks.
        spawn_concurrency: Most spawn calls in flight at once, so that a burst of
            submits becomes a steady stream of RPCs.
    """

    def __init__(
        self,
        *,
        function: Any,
        from_id: Callable[[str], Any],
        results: Any,
        completions: Any,
        capacity: int = 100_000,
        drain_batch: int = 1000,
        drain_timeout: float = 5.0,
        check_after: float = 900.0,
        check_max: float = 3600.0,
        spawn_concurrency: int = 64,
    ) -> None:
        self._function = function
        self._from_id = from_id
        self._results = results
        self._completions = completions
        self._capacity = capacity
        self._drain_batch = drain_batch
        self._drain_timeout = drain_timeout
        self._check_after = check_after
        self._check_max = check_max
        self._pending: dict[str, _Pending] = {}
        self._spawning = anyio.CapacityLimiter(spawn_concurrency)

    @classmethod
    def from_deployment(
        cls,
        app_name: str = APP_NAME,
        function_name: str = FUNCTION_NAME,
        **kwargs: Any,
    ) -> ModalExecutor:
        """The executor for a deployed `server/modal_app.py`, found by name."""
        return cls(
            function=modal.Function.from_name(app_name, function_name),
            from_id=modal.FunctionCall.from_id,
            results=modal.Dict.from_name(RESULTS_DICT, create_if_missing=True),
            completions=modal.Queue.from_name(
                COMPLETIONS_QUEUE, create_if_missing=True
            ),
            **kwargs,
        )

    @property
    def capacity(self) -> int:
        """Jobs in flight at once."""
        return self._capacity

    async def serve(self) -> None:
        """Drain the completion queue and wake the jobs it names, until cancelled."""
        backoff = 1.0
        while True:
            try:
                records = await self._completions.get_many.aio(
                    self._drain_batch, timeout=self._drain_timeout
                )
            except modal.exception.Error as exc:
                logger.warning("reading the completion queue failed: %s", exc)
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue

            backoff = 1.0
            for record in records:
                pending = self._pending.get(str(record.get("job_id")))
                if pending is None:
                    # A job this server does not wait for (yet): after a restart,
                    # `execute` finds it in the Dict instead.
                    continue
                pending.record = record
                pending.event.set()

    async def execute(self, job: JobSpec, started: StartedCallback) -> Completion:
        """Spawn the job (or find the one spawned before a restart) and await it."""
        pending = self._pending[job.job_id] = _Pending(anyio.Event())
        try:
            if job.handle is None:
                async with self._spawning:
                    call = await self._function.spawn.aio(job.job_id, job.request)
                call_id = str(call.object_id)
                await started(call_id)
            else:
                call_id = job.handle
                record = await self._results.get.aio(job.job_id)
                if record is not None:
                    return completion_of(record)

            delay = self._check_after
            while True:
                with anyio.move_on_after(delay):
                    await pending.event.wait()
                if pending.record is not None:
                    return completion_of(pending.record)

                outcome = await self.check(call_id)
                if outcome is not None:
                    return outcome
                delay = min(delay * 2, self._check_max)
        finally:
            del self._pending[job.job_id]

    async def check(self, call_id: str) -> Completion | None:
        """Ask a call directly how it ended; None while it is still running.

        `get(timeout=0)` raises the builtin `TimeoutError` while the call runs.
        Modal's own `OutputExpiredError` and `FunctionTimeoutError` derive from
        `modal.exception.TimeoutError`, not from the builtin, so they fall through
        that clause and are told apart below.
        """
        call = self._from_id(call_id)
        try:
            record = await call.get.aio(timeout=0)
        except TimeoutError:
            return None
        except modal.exception.OutputExpiredError:
            return Completion.expired()
        except modal.exception.FunctionTimeoutError as exc:
            return Completion.failed(
                "job_timeout", f"the job ran past its timeout: {exc}"
            )
        except Exception as exc:
            return Completion.failed("forecast_failed", f"{type(exc).__name__}: {exc}")
        return completion_of(record)
