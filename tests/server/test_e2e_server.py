"""End to end over real HTTP: a uvicorn server on loopback, in a subprocess."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from loopback import LoopbackServer
from serverkit import AIRLINE, AUTH, KEY, OTHER_AUTH, OTHER_KEY


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LoopbackServer]:
    """A running server on a fresh database."""
    running = LoopbackServer(tmp_path, keys=[KEY, OTHER_KEY])
    running.start()
    yield running
    running.stop()


def _wait_done(
    http: httpx.Client, ids: list[str], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    pending = list(ids)
    jobs: dict[str, Any] = {}
    while pending and time.monotonic() < deadline:
        answer = http.post(
            "/forecast-jobs/batch-status",
            json={"job_ids": pending, "wait": 5, "include_results": True},
        ).json()["jobs"]
        jobs.update(answer)
        pending = [
            i for i in pending if answer[i]["status"] in ("queued", "in_progress")
        ]
    assert not pending, f"still pending: {pending}"
    return jobs


def _statsforecast(model: Any, values: Sequence[float], horizon: int) -> list[float]:
    import pandas as pd
    from statsforecast import StatsForecast

    frame = pd.DataFrame(
        {
            "unique_id": "airline",
            "ds": range(len(values)),
            "y": [float(v) for v in values],
        }
    )
    forecast = StatsForecast(models=[model], freq=1, n_jobs=1).forecast(
        df=frame, h=horizon
    )
    return [float(v) for v in forecast[str(model)]]


def test_submit_poll_and_results_equal_statsforecast(server: LoopbackServer) -> None:
    """A job submitted and polled over HTTP gives what statsforecast gives."""
    from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive

    models = {
        "AutoETS": AutoETS(season_length=12),
        "AutoARIMA": AutoARIMA(season_length=12),
        "SeasonalNaive": SeasonalNaive(season_length=12),
    }
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        ids = {}
        for name in models:
            series = [{"unique_id": "airline", "values": AIRLINE}]
            request = {"model": name, "horizon": 12, "season_length": 12}
            request["series"] = series
            answer = http.post("/forecast-jobs", json=request)
            assert answer.status_code == 202
            ids[name] = answer.json()["job_id"]

        first = http.get(f"/forecast-jobs/{ids['AutoETS']}")
        assert first.status_code in (200, 202)
        _wait_done(http, list(ids.values()))

        for name, model in models.items():
            answer = http.get(f"/forecast-jobs/{ids[name]}")
            assert answer.status_code == 200
            assert answer.json()["status"] == "completed"
            got = answer.json()["result"]["forecasts"]["airline"]
            assert got == pytest.approx(_statsforecast(model, AIRLINE, 12), rel=1e-9)


def test_batch_status_in_both_forms(server: LoopbackServer) -> None:
    """The GET and POST batch-status forms agree over HTTP."""
    requests = [
        {"model": "Naive", "horizon": 2, "series": [{"unique_id": "a", "values": [i]}]}
        for i in range(1, 6)
    ]
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        ids = http.post("/forecast-jobs/batch", json={"requests": requests}).json()[
            "job_ids"
        ]
        jobs = _wait_done(http, ids)

        published = http.get(
            "/forecast-jobs/batch-status", params={"job_ids": [*ids, "fj_none"]}
        )
        results = http.post("/forecast-jobs/batch-results", json={"job_ids": ids})

    assert published.json() == {
        **dict.fromkeys(ids, "completed"),
        "fj_none": "not_found",
    }
    for i, job_id in enumerate(ids, start=1):
        assert jobs[job_id]["result"]["forecasts"] == {"a": [float(i)] * 2}
        assert results.json()["jobs"][job_id]["result"] == jobs[job_id]["result"]


def test_another_keys_job_is_not_found(server: LoopbackServer) -> None:
    """A key from the environment cannot see a job of a key from the flags."""
    request = {
        "model": "Naive",
        "horizon": 1,
        "series": [{"unique_id": "a", "values": [1]}],
    }
    with httpx.Client(base_url=server.url, timeout=30) as http:
        job_id = http.post("/forecast-jobs", json=request, headers=AUTH).json()[
            "job_id"
        ]

        foreign = http.get(f"/forecast-jobs/{job_id}", headers=OTHER_AUTH)
        batch = http.get(
            "/forecast-jobs/batch-status",
            params={"job_ids": job_id},
            headers=OTHER_AUTH,
        )

    assert foreign.status_code == 404
    assert batch.json() == {job_id: "not_found"}


def test_kill_and_restart_loses_no_job(server: LoopbackServer) -> None:
    """After kill -9 and a restart on the same file, every job is there and ends."""
    quick = [
        {"model": "Naive", "horizon": 1, "series": [{"unique_id": "q", "values": [i]}]}
        for i in range(4)
    ]
    slow = [
        {"model": "AutoARIMA", "horizon": 12, "season_length": 12,
         "series": [{"unique_id": "s", "values": [v + i for v in AIRLINE]}]}
        for i in range(8)
    ]  # fmt: skip
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        done = http.post("/forecast-jobs/batch", json={"requests": quick}).json()[
            "job_ids"
        ]
        before = _wait_done(http, done)
        unfinished = http.post("/forecast-jobs/batch", json={"requests": slow}).json()[
            "job_ids"
        ]
    server.kill()
    left = server.jobs("status IN ('pending', 'running')")
    assert left > 0, "every job finished before the kill; the test proves nothing"
    server.start()

    ids = done + unfinished
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        after = _wait_done(http, ids)
        feed_ids: list[str] = []
        cursor: dict[str, str] = {}
        while True:
            feed = http.get("/forecast-jobs/feed", params=cursor).json()
            if not feed["jobs"]:
                break
            feed_ids += [j["job_id"] for j in feed["jobs"]]
            cursor = {"after": feed["cursor"]}

    assert all(after[i]["status"] == "completed" for i in ids)
    assert sorted(feed_ids) == sorted(ids)
    for job_id in done:
        assert after[job_id] == before[job_id]
