"""Helpers of the reliability suite: scripted servers, the real one, a task counter."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
import trio
from fastapi import FastAPI
from loopback import LoopbackServer

from polling import HttpJobAPI, JobId
from server import Completion, JobSpec, Settings, StartedCallback, capabilities

KEY = "reliability-key-7f3a9c"
OTHER_KEY = "reliability-other-key-51d0"
ID = JobId("fj_" + "a" * 32)
"""The one job id a scripted server hands out."""


def document(*features: str) -> dict[str, Any]:
    """The reference server's capability document, with only these features."""
    return capabilities(Settings()) | {"features": list(features)}


def answer(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A JSON answer."""
    return httpx.Response(status, json=body, headers=headers)


def refusal(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    """An answer in the server's error shape."""
    body = {"error": {"code": code, "message": message}}
    return httpx.Response(status, json=body, headers=headers)


def job(status: str, **fields: Any) -> httpx.Response:
    """`GET /forecast-jobs/{id}` answering one job in a wire status."""
    body = {"job_id": ID, "submitted_at": 0.0, "status": status} | fields
    code = 202 if status in ("queued", "in_progress") else 200
    return answer(code, body)


DONE = {"completed_at": 1.0, "result": {"forecasts": {"s": [1.0]}}}
"""The fields of a completed job's answer."""


class OneJobServer:
    """A scripted server of single calls: one submit, then a script of answers.

    `GET /forecast-jobs/{id}` answers the script in order, the last answer for
    ever; an entry may be an exception to raise instead (a reset connection).
    Every request is recorded with its virtual time.

    Args:
        script: What successive gets answer.
        features: The capabilities the document declares.
        submit: What the submit answers, if not the job's id.
    """

    def __init__(
        self,
        script: Sequence[httpx.Response | Exception],
        features: Sequence[str] = (),
        submit: httpx.Response | None = None,
    ) -> None:
        self.script = list(script)
        self.document = document(*features)
        self.submit = submit or answer(
            202, {"job_id": ID, "status": "queued", "submitted_at": 0}
        )
        self.seen: list[tuple[str, float]] = []

    @property
    def gets(self) -> list[float]:
        """When each get arrived."""
        return self.arrivals("GET /forecast-jobs/")

    def arrivals(self, prefix: str) -> list[float]:
        """When each request whose method and path start with `prefix` arrived."""
        return [at for what, at in self.seen if what.startswith(prefix)]

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request, as `httpx.MockTransport` asks."""
        # The loop's clock: virtual time under trio's `MockClock`.
        self.seen.append((f"{request.method} {request.url.path}", anyio.current_time()))
        if request.url.path == "/capabilities":
            return answer(200, self.document)
        if request.method == "POST" and request.url.path == "/forecast-jobs":
            return self.submit
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return step

    def api(self, **options: Any) -> HttpJobAPI:
        """The real HTTP client on this server."""
        return HttpJobAPI(
            "http://scripted",
            api_key=KEY,
            transport=httpx.MockTransport(self.handle),
            **options,
        )


class TaskCounter(trio.abc.Instrument):
    """Counts trio tasks alive, and the most alive at once."""

    def __init__(self) -> None:
        self.live = 0
        self.most = 0

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.live += 1
        self.most = max(self.most, self.live)

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self.live -= 1


class QuickExecutor:
    """An in-process executor whose jobs end `duration` seconds after they start.

    A request whose first series is named `fail` fails; one named `hang` never
    ends. The result echoes the request's series.
    """

    def __init__(self, duration: float = 0.5) -> None:
        self.duration = duration

    @property
    def capacity(self) -> int:
        return 100

    async def serve(self) -> None:
        await anyio.sleep_forever()

    async def execute(self, job: JobSpec, started: StartedCallback) -> Completion:
        await started(None)
        name = job.request["series"][0]["unique_id"]
        if name == "hang":
            await anyio.sleep_forever()
        await anyio.sleep(self.duration)
        if name == "fail":
            return Completion.failed("forecast_failed", "the series was cursed")
        return Completion.completed({"series": job.request["series"]})


def forecast(name: str, values: Sequence[float] = (1.0, 2.0, 3.0)) -> dict[str, Any]:
    """A small Naive forecast request on one series."""
    return {
        "model": "Naive",
        "horizon": 1,
        "series": [{"unique_id": name, "values": list(values)}],
    }


@contextlib.asynccontextmanager
async def in_process(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan and give a client talking to it in process."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app"
        ) as http,
    ):
        yield http


def reference_server(folder: Path) -> LoopbackServer:
    """The reference server on loopback, taking both keys of the suite, logging
    at info so that a test can read what it logs."""
    return LoopbackServer(folder, keys=[KEY, OTHER_KEY], log_level="info")


Respond = Callable[[str, str], tuple[int, dict[str, Any]] | None]
"""Given a request's method and path, its status and JSON body; None to hang."""


async def serve_raw_http(listener: Any, respond: Respond) -> None:
    """A bare HTTP/1.1 server on an anyio listener, for answers httpx cannot fake.

    `respond` decides each answer; a request it answers None is never answered,
    so that a client's read timeout is what ends it.
    """

    async def one_connection(stream: Any) -> None:
        async with stream:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    try:
                        buffer += await stream.receive()
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        return
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += await stream.receive()
                buffer = buffer[length:]
                decided = respond(method, path)
                if decided is None:
                    await anyio.sleep_forever()
                    return
                status, body = decided
                payload = json.dumps(body).encode()
                await stream.send(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )

    await listener.serve(one_connection)
