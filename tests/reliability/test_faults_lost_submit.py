"""A submit stored by the real server whose answer is lost on the way back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import anyio
import httpx
from faultkit import KEY, QuickExecutor, forecast

from polling import HttpJobAPI, Outcome, OutcomeKind, Poller
from polling.testing import run_virtual
from server import Settings, create_app

REQUESTS = [forecast(f"lost-{n}") for n in range(3)]
SUBMIT_PATHS = ("/forecast-jobs", "/forecast-jobs/batch")


class LosesFirstSubmit(httpx.AsyncBaseTransport):
    """Passes requests to the app; the first submit's answer is dropped after the
    app has stored its jobs, as a connection cut on the way back would.

    With `hide_idempotency`, the capability document no longer offers
    idempotency keys, so the client must not resend a submit.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, hide_idempotency: bool):
        self.inner = inner
        self.hide_idempotency = hide_idempotency
        self.submits: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        path = request.url.path
        if path == "/capabilities" and self.hide_idempotency:
            return await self._without_idempotency(response)
        if request.method == "POST" and path in SUBMIT_PATHS:
            self.submits.append(request.headers.get("Idempotency-Key"))
            if len(self.submits) == 1:
                await response.aread()
                raise httpx.ReadError("connection reset after the request was sent")
        return response

    async def _without_idempotency(self, response: httpx.Response) -> httpx.Response:
        document = json.loads(await response.aread())
        document["features"].remove("idempotency")
        return httpx.Response(200, json=document)


def _jobs_stored(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM jobs").fetchone()
    return int(count)


def _run(
    tmp_path: Path, hide_idempotency: bool
) -> tuple[list[Outcome], list[str | None]]:
    """Collect `REQUESTS` from the app in virtual time; outcomes and submit keys."""
    settings = Settings.with_api_keys(
        [KEY],
        db_path=tmp_path / "jobs.sqlite",
        clock=lambda: 1_700_000_000.0 + anyio.current_time(),
        offload_db=False,
    )
    app = create_app(settings, executor=QuickExecutor(duration=0.5))
    transport = LosesFirstSubmit(httpx.ASGITransport(app=app), hide_idempotency)

    async def scenario() -> list[Outcome]:
        async with (
            app.router.lifespan_context(app),
            HttpJobAPI("http://app", api_key=KEY, transport=transport) as api,
        ):
            poller = Poller(api, "stack", deadline=120, progress=False, seed=0)
            return await poller.collect(REQUESTS)

    return run_virtual(scenario), transport.submits


def test_a_lost_submit_with_an_idempotency_key_makes_one_job_each(
    tmp_path: Path,
) -> None:
    """The batch submit is sent again with the same key: three jobs, not six,
    each completed with its own result."""
    outcomes, submits = _run(tmp_path, hide_idempotency=False)

    assert [o.kind for o in outcomes] == [OutcomeKind.COMPLETED] * 3
    assert [o.result["series"] for o in outcomes] == [r["series"] for r in REQUESTS]
    assert len(submits) == 2
    assert submits[0] is not None
    assert submits[0] == submits[1]
    assert _jobs_stored(tmp_path / "jobs.sqlite") == 3


def test_a_lost_submit_without_idempotency_is_not_resent_and_ends_unknown(
    tmp_path: Path,
) -> None:
    """No key, no blind retry: one submit sent, its three jobs stored on the
    server, and all three outcomes `unknown`, none a guess."""
    outcomes, submits = _run(tmp_path, hide_idempotency=True)

    assert [o.kind for o in outcomes] == [OutcomeKind.UNKNOWN] * 3
    assert [o.job_id for o in outcomes] == [None] * 3
    assert submits == [None]
    assert _jobs_stored(tmp_path / "jobs.sqlite") == 3
