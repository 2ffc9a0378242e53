"""Submitting, reading and batching jobs through the app in process."""

from __future__ import annotations

import anyio
import httpx
import pytest
from serverkit import AIRLINE, AUTH, OTHER_AUTH, AppFactory, naive_request, serve

from server.forecast import run_forecast

pytestmark = pytest.mark.anyio


async def _finish(client: httpx.AsyncClient, job_id: str) -> httpx.Response:
    answer = await client.post(
        "/forecast-jobs/batch-status",
        json={"job_ids": [job_id], "wait": 30},
        headers=AUTH,
    )
    while answer.json()["jobs"][job_id]["status"] in ("queued", "in_progress"):
        answer = await client.post(
            "/forecast-jobs/batch-status",
            json={"job_ids": [job_id], "wait": 30},
            headers=AUTH,
        )
    return await client.get(f"/forecast-jobs/{job_id}", headers=AUTH)


async def test_submit_answers_202_with_a_queued_job(client: httpx.AsyncClient) -> None:
    """A submit answers 202, the job id, `queued` and where to read it."""
    answer = await client.post("/forecast-jobs", json=naive_request(), headers=AUTH)

    assert answer.status_code == 202
    body = answer.json()
    assert body["job_id"].startswith("fj_") and len(body["job_id"]) == 35
    assert body["status"] == "queued"
    assert answer.headers["location"] == f"/forecast-jobs/{body['job_id']}"


async def test_a_running_job_answers_202_in_progress(client: httpx.AsyncClient) -> None:
    """While the job runs, GET answers 202 with `in_progress` and its start time."""
    job_id = (
        await client.post("/forecast-jobs", json=naive_request(), headers=AUTH)
    ).json()["job_id"]

    answer = await client.get(f"/forecast-jobs/{job_id}", headers=AUTH)

    assert answer.status_code == 202
    assert answer.json()["status"] in ("queued", "in_progress")
    assert answer.json()["completed_at"] is None


async def test_a_completed_job_answers_200_with_its_result(
    client: httpx.AsyncClient,
) -> None:
    """Once done, GET answers 200, `completed`, the times and the forecast."""
    request = {"model": "AutoETS", "horizon": 6, "season_length": 12,
               "series": [{"unique_id": "airline", "values": AIRLINE}]}  # fmt: skip
    job_id = (await client.post("/forecast-jobs", json=request, headers=AUTH)).json()[
        "job_id"
    ]

    answer = await _finish(client, job_id)

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "completed"
    assert body["submitted_at"] <= body["started_at"] <= body["completed_at"]
    assert body["result"] == run_forecast(request)


async def test_a_failed_job_answers_its_error(make_app: AppFactory) -> None:
    """A job that failed answers 200, `error`, and the error's code and message."""
    from serverkit import ControlledExecutor

    app = make_app(ControlledExecutor(failures={"s": "no luck"}))
    async with serve(app) as client:
        job_id = (
            await client.post("/forecast-jobs", json=naive_request(), headers=AUTH)
        ).json()["job_id"]
        answer = await _finish(client, job_id)

    assert answer.status_code == 200
    assert answer.json()["status"] == "error"
    assert answer.json()["error"] == {"code": "forecast_failed", "message": "no luck"}


async def test_another_keys_job_is_not_found(client: httpx.AsyncClient) -> None:
    """Another key sees a job exactly as one that never existed."""
    job_id = (
        await client.post("/forecast-jobs", json=naive_request(), headers=AUTH)
    ).json()["job_id"]

    foreign = await client.get(f"/forecast-jobs/{job_id}", headers=OTHER_AUTH)
    unknown = await client.get("/forecast-jobs/fj_" + "0" * 32, headers=OTHER_AUTH)

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["status"] == unknown.json()["status"] == "not_found"
    assert foreign.json()["error"]["code"] == unknown.json()["error"]["code"]


async def test_batch_submit_returns_ids_in_order(client: httpx.AsyncClient) -> None:
    """A batch submit answers 202 with one distinct id per request, in order."""
    requests = [naive_request([float(i), float(i + 1)]) for i in range(5)]

    answer = await client.post(
        "/forecast-jobs/batch", json={"requests": requests}, headers=AUTH
    )

    assert answer.status_code == 202
    ids = answer.json()["job_ids"]
    assert len(set(ids)) == 5
    for i, job_id in enumerate(ids):
        done = await _finish(client, job_id)
        assert done.json()["result"]["forecasts"]["s"] == [float(i + 1)] * 3


async def test_get_batch_status_uses_the_published_words(
    make_app: AppFactory,
) -> None:
    """The GET form maps ids to completed, in_progress, error or not_found."""
    from serverkit import ControlledExecutor

    executor = ControlledExecutor(
        durations={"fast": 0.1, "bad": 0.1},
        failures={"bad": "x"},
        hangs=frozenset({"slow"}),
    )
    async with serve(make_app(executor)) as client:
        ids = []
        for name in ("fast", "bad", "slow"):
            request = naive_request()
            request["series"][0]["unique_id"] = name
            ids.append(
                (
                    await client.post("/forecast-jobs", json=request, headers=AUTH)
                ).json()["job_id"]
            )
        for job_id in ids[:2]:
            await _finish(client, job_id)

        answer = await client.get(
            "/forecast-jobs/batch-status",
            params={"job_ids": [*ids, "fj_unknown"]},
            headers=AUTH,
        )

    assert answer.status_code == 200
    assert answer.json() == {
        ids[0]: "completed",
        ids[1]: "error",
        ids[2]: "in_progress",
        "fj_unknown": "not_found",
    }


async def test_post_batch_status_gives_times_and_optional_results(
    client: httpx.AsyncClient,
) -> None:
    """The POST form gives status and times, and results when asked."""
    job_id = (
        await client.post("/forecast-jobs", json=naive_request(), headers=AUTH)
    ).json()["job_id"]
    await _finish(client, job_id)

    plain = await client.post(
        "/forecast-jobs/batch-status", json={"job_ids": [job_id, "nope"]}, headers=AUTH
    )
    full = await client.post(
        "/forecast-jobs/batch-status",
        json={"job_ids": [job_id], "include_results": True},
        headers=AUTH,
    )

    entry = plain.json()["jobs"][job_id]
    assert entry["status"] == "completed"
    assert entry["completed_at"] >= entry["started_at"]
    assert "result" not in entry
    assert plain.json()["jobs"]["nope"] == {"status": "not_found"}
    assert full.json()["jobs"][job_id]["result"] == run_forecast(naive_request())


async def test_batch_results_gives_results_of_many(client: httpx.AsyncClient) -> None:
    """POST batch-results answers every id with its result or its status."""
    ids = (
        await client.post(
            "/forecast-jobs/batch",
            json={"requests": [naive_request(), naive_request([5.0])]},
            headers=AUTH,
        )
    ).json()["job_ids"]
    for job_id in ids:
        await _finish(client, job_id)

    answer = await client.post(
        "/forecast-jobs/batch-results",
        json={"job_ids": [*ids, "fj_x"]},
        headers=OTHER_AUTH | AUTH,
    )

    jobs = answer.json()["jobs"]
    assert jobs[ids[1]]["result"]["forecasts"] == {"s": [5.0, 5.0, 5.0]}
    assert jobs[ids[0]]["status"] == "completed"
    assert jobs["fj_x"] == {"status": "not_found"}


async def test_an_idempotency_key_returns_the_same_job(
    client: httpx.AsyncClient,
) -> None:
    """The same Idempotency-Key and request give the same job, never a second."""
    headers = AUTH | {"Idempotency-Key": "abc"}

    first = await client.post("/forecast-jobs", json=naive_request(), headers=headers)
    again = await client.post("/forecast-jobs", json=naive_request(), headers=headers)
    other = await client.post(
        "/forecast-jobs",
        json=naive_request(),
        headers=OTHER_AUTH | {"Idempotency-Key": "abc"},
    )

    assert first.json()["job_id"] == again.json()["job_id"]
    assert other.json()["job_id"] != first.json()["job_id"]


async def test_an_idempotency_key_reused_for_another_request_conflicts(
    client: httpx.AsyncClient,
) -> None:
    """Reusing a key with a different request answers 409 and makes no job."""
    headers = AUTH | {"Idempotency-Key": "k"}
    await client.post("/forecast-jobs", json=naive_request(), headers=headers)

    answer = await client.post(
        "/forecast-jobs", json=naive_request([9.0]), headers=headers
    )

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "idempotency_conflict"


async def test_a_batch_idempotency_key_returns_the_same_ids(
    client: httpx.AsyncClient,
) -> None:
    """A batch resent with its Idempotency-Key returns the same ids in order."""
    body = {"requests": [naive_request(), naive_request([4.0])]}
    headers = AUTH | {"Idempotency-Key": "batch-1"}

    first = await client.post("/forecast-jobs/batch", json=body, headers=headers)
    again = await client.post("/forecast-jobs/batch", json=body, headers=headers)

    assert first.json() == again.json()


async def test_capabilities_need_no_key_and_state_the_limits(
    client: httpx.AsyncClient,
) -> None:
    """The capability document is public and names limits and features."""
    answer = await client.get("/capabilities")

    body = answer.json()
    assert answer.status_code == 200
    assert body["limits"]["batch_status_max"] == 1000
    assert body["rate_limit"] == {
        "requests": 10_000,
        "per_seconds": 60,
        "per_second": 166.667,
        "burst": 1000,
        "burst_per_seconds": 1,
        "scope": "api_key",
    }
    assert set(body["features"]) >= {"batch_submit", "batch_status", "wait", "feed"}
    assert body["wait"]["max_seconds"] < 150


async def test_health_needs_no_key(client: httpx.AsyncClient) -> None:
    """The health check answers 200 without a key."""
    answer = await client.get("/health")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


async def test_the_get_form_takes_as_many_ids_as_the_document_says(
    client: httpx.AsyncClient,
) -> None:
    """`batch_status_get_max` ids of the server's own format fit in the URL."""
    limits = (await client.get("/capabilities")).json()["limits"]
    count = limits["batch_status_get_max"]
    ids = [f"fj_{i:032x}" for i in range(count + 1)]

    fits = await client.get(
        "/forecast-jobs/batch-status", params={"job_ids": ids[:count]}, headers=AUTH
    )
    over = await client.get(
        "/forecast-jobs/batch-status", params={"job_ids": ids}, headers=AUTH
    )

    assert fits.status_code == 200
    assert len(fits.json()) == count
    assert over.status_code == 414


async def test_concurrent_submits_with_one_key_make_one_job(
    make_app: AppFactory,
) -> None:
    """Racing submits with the same Idempotency-Key all get the same job."""

    headers = AUTH | {"Idempotency-Key": "race"}
    ids: list[str] = []
    async with serve(make_app(offload_db=True)) as client:

        async def submit() -> None:
            answer = await client.post(
                "/forecast-jobs", json=naive_request(), headers=headers
            )
            ids.append(answer.json()["job_id"])

        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(submit)

    assert len(ids) == 8
    assert len(set(ids)) == 1
