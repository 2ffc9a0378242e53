"""The Modal executor through fakes of Modal's documented behaviour.

The fakes stand in at the seams the production path uses: the function's
`spawn.aio`, `FunctionCall.from_id` with `get.aio(timeout=0)`, the `modal.Dict` and
the `modal.Queue`. They reproduce what MODAL.md records for modal 1.6.4: `get`
raises the builtin `TimeoutError` while a call runs, `OutputExpiredError` and
`FunctionTimeoutError` (subclasses of `modal.exception.TimeoutError`, not of the
builtin) once expired or timed out, and the job's own exception if it raised.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import modal
import modal.exception
import pytest
import trio.testing
from serverkit import AUTH, AppFactory, naive_request, serve, virtual_clock

from polling._types import JobStatus
from server import Completion, JobSpec
from server._modal import ModalExecutor, completion_of, job_record

pytestmark = pytest.mark.anyio


class _Aio:
    """An object whose `.aio` is the given coroutine function, as Modal's methods."""

    def __init__(self, aio: Callable[..., Awaitable[Any]]) -> None:
        self.aio = aio


class FakeCall:
    """A `modal.FunctionCall`: pending until told how it ended."""

    def __init__(self, object_id: str) -> None:
        self.object_id = object_id
        self.outcome: BaseException | dict[str, Any] | None = None
        self.gets = 0
        self.get = _Aio(self._get)

    async def _get(self, timeout: float | None = None) -> Any:
        assert timeout == 0
        self.gets += 1
        if self.outcome is None:
            raise TimeoutError
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class FakeModal:
    """The function, calls, Dict and Queue of one fake deployment."""

    def __init__(self) -> None:
        self.calls: dict[str, FakeCall] = {}
        self.spawned: list[tuple[str, dict[str, Any]]] = []
        self.dict: dict[str, Any] = {}
        self.queue: list[dict[str, Any]] = []
        self.dict_gets = 0
        self._ids = itertools.count(1)
        self._queued: anyio.Event | None = None
        self.spawn = _Aio(self._spawn)
        self.dict_get = _Aio(self._dict_get)
        self.get_many = _Aio(self._get_many)

    async def _spawn(self, job_id: str, request: dict[str, Any]) -> FakeCall:
        call = FakeCall(f"fc-{next(self._ids):08d}")
        self.calls[call.object_id] = call
        self.spawned.append((job_id, request))
        return call

    def from_id(self, call_id: str) -> FakeCall:
        return self.calls[call_id]

    async def _dict_get(self, key: str) -> Any:
        self.dict_gets += 1
        return self.dict.get(key)

    async def _get_many(self, n: int, timeout: float | None = None) -> list[Any]:
        if not self.queue:
            self._queued = anyio.Event()
            with anyio.move_on_after(timeout if timeout is not None else 1e9):
                await self._queued.wait()
        taken, self.queue = self.queue[:n], self.queue[n:]
        return taken

    def finish(self, job_id: str, call_id: str, record: dict[str, Any]) -> None:
        """What `forecast_job` does at its end: the Dict, the Queue, the return."""
        self.dict[job_id] = record
        self.queue.append(record)
        self.calls[call_id].outcome = record
        if self._queued is not None:
            self._queued.set()

    def executor(self, **kwargs: Any) -> ModalExecutor:
        results = type("FakeDict", (), {"get": self.dict_get})()
        queue = type("FakeQueue", (), {"get_many": self.get_many})()
        return ModalExecutor(
            function=self, from_id=self.from_id, results=results, completions=queue,
            **kwargs,
        )  # fmt: skip


def _record(job_id: str) -> dict[str, Any]:
    return job_record(job_id, naive_request(), clock=lambda: 42.0)


async def _started(handle: str | None) -> None:
    pass


@pytest.fixture
def fake() -> FakeModal:
    """A fresh fake deployment."""
    return FakeModal()


async def test_a_job_is_spawned_once_and_learned_from_the_queue(
    fake: FakeModal,
) -> None:
    """One spawn per job; the completion comes off the queue, no call is asked."""
    executor = fake.executor()
    handles: list[str | None] = []

    async def started(handle: str | None) -> None:
        handles.append(handle)

    async with anyio.create_task_group() as tg:
        tg.start_soon(executor.serve)
        done: list[Completion] = []

        async def run() -> None:
            done.append(await executor.execute(JobSpec("j1", naive_request()), started))

        tg.start_soon(run)
        await anyio.wait_all_tasks_blocked()
        fake.finish("j1", handles[0] or "", _record("j1"))
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()

    assert fake.spawned == [("j1", naive_request())]
    assert handles == ["fc-00000001"]
    assert done == [Completion.completed(_record("j1")["result"], 42.0)]
    assert fake.calls["fc-00000001"].gets == 0
    assert fake.dict_gets == 0


async def test_after_a_restart_a_job_is_found_in_the_dict(fake: FakeModal) -> None:
    """A job with a handle is not spawned again; its Dict record ends it."""
    call = await fake.spawn.aio("j1", naive_request())
    fake.dict["j1"] = _record("j1")

    completion = await fake.executor().execute(
        JobSpec("j1", naive_request(), handle=call.object_id), _started
    )

    assert completion.status is JobStatus.COMPLETED
    assert len(fake.spawned) == 1


VIRTUAL_TRIO = pytest.param(
    ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}),
    id="trio-mock-clock",
)


@pytest.mark.parametrize("anyio_backend", [VIRTUAL_TRIO])
async def test_a_silent_job_is_asked_directly_at_doubling_intervals(
    fake: FakeModal,
) -> None:
    """Without news, the call is asked after `check_after`, then 2x, until it ends."""
    executor = fake.executor(check_after=10.0, check_max=40.0)
    asked_at: list[float] = []
    done: list[Completion] = []

    async def run() -> None:
        done.append(await executor.execute(JobSpec("j1", naive_request()), _started))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await anyio.wait_all_tasks_blocked()
        call = fake.calls["fc-00000001"]
        start = anyio.current_time()
        while call.gets < 3:
            gets = call.gets
            while call.gets == gets:
                await anyio.sleep(0.5)
            asked_at.append(anyio.current_time() - start)
        call.outcome = modal.exception.FunctionTimeoutError("600 s")

    assert [round(t) for t in asked_at] == [10, 30, 70]
    assert done[0].status is JobStatus.FAILED
    assert done[0].error is not None and done[0].error["code"] == "job_timeout"


@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [
        (TimeoutError(), None, None),
        (modal.exception.OutputExpiredError("gone"), JobStatus.EXPIRED, "expired"),
        (
            modal.exception.FunctionTimeoutError("600 s"),
            JobStatus.FAILED,
            "job_timeout",
        ),
        (ValueError("bad series"), JobStatus.FAILED, "forecast_failed"),
        (_record("j1"), JobStatus.COMPLETED, None),
    ],
    ids=["pending", "expired", "function-timeout", "job-raised", "returned"],
)
async def test_check_maps_modal_outcomes(
    fake: FakeModal, outcome: Any, status: JobStatus | None, code: str | None
) -> None:
    """Builtin TimeoutError is pending; Modal's own timeouts and errors are not."""
    call = await fake.spawn.aio("j1", naive_request())
    call.outcome = None if isinstance(outcome, TimeoutError) else outcome

    completion = await fake.executor().check(call.object_id)

    if status is None:
        assert completion is None
    else:
        assert completion is not None
        assert completion.status is status
        assert (completion.error or {}).get("code") == code


def test_modal_timeouts_are_not_the_builtin_timeout_error() -> None:
    """The reason `check` names them: `except TimeoutError` does not catch them."""
    assert not issubclass(modal.exception.OutputExpiredError, TimeoutError)
    assert not issubclass(modal.exception.FunctionTimeoutError, TimeoutError)


def test_job_record_catches_the_jobs_own_errors() -> None:
    """A job raising, even the builtin TimeoutError, records a failure instead."""
    bad = naive_request() | {"horizon": 0}

    record = job_record("j1", bad, clock=lambda: 1.0)

    assert record["status"] == JobStatus.FAILED.value
    assert completion_of(record).status is JobStatus.FAILED


async def test_the_app_runs_jobs_on_the_modal_executor(
    make_app: AppFactory, fake: FakeModal
) -> None:
    """Through the app: a job spawned on Modal completes once its record arrives."""
    async with serve(make_app(fake.executor())) as client:
        job_id = (
            await client.post("/forecast-jobs", json=naive_request(), headers=AUTH)
        ).json()["job_id"]
        await anyio.wait_all_tasks_blocked()
        running = (await client.get(f"/forecast-jobs/{job_id}", headers=AUTH)).json()
        record = job_record(job_id, naive_request(), clock=virtual_clock)
        fake.finish(job_id, "fc-00000001", record)
        await anyio.wait_all_tasks_blocked()
        done = await client.get(f"/forecast-jobs/{job_id}", headers=AUTH)

    assert running["status"] == "in_progress"
    assert done.status_code == 200
    assert done.json()["result"] == record["result"]
    assert done.json()["completed_at"] == record["completed_at"]


def test_the_deployment_module_builds_its_app() -> None:
    """`server/modal_app.py` imports and defines the app and both functions."""
    from server import modal_app

    assert isinstance(modal_app.app, modal.App)
    assert modal_app.app.name == "pollstack"
    assert isinstance(modal_app.forecast_job, modal.Function)
    assert isinstance(modal_app.web, modal.Function)
