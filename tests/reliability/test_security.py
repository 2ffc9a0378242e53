"""Security of the reference server: ownership, keys, ids, limits, authentication."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from faultkit import (
    KEY,
    OTHER_KEY,
    QuickExecutor,
    forecast,
    in_process,
)
from loopback import LoopbackServer

from polling import AuthError, HttpJobAPI, JobId, Poller
from server import Settings, create_app

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {KEY}"}
OTHER = {"Authorization": f"Bearer {OTHER_KEY}"}
WRONG_KEY = "reliability-wrong-key-e41b"
PUBLIC = {
    "GET /health",
    "GET /capabilities",
    # FastAPI's description of the API (docs/server.md): routes and schemas only.
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/oauth2-redirect",
    "GET /redoc",
}
"""The only routes that answer without a key."""
VARYING_HEADERS = {"ratelimit-remaining", "ratelimit-reset", "server-timing", "date"}


def _app(tmp_path: Path, executor: Any = None, **limits: Any) -> FastAPI:
    settings = Settings.with_api_keys(
        [KEY, OTHER_KEY], db_path=tmp_path / "jobs.sqlite", offload_db=False, **limits
    )
    return create_app(settings, executor=executor or QuickExecutor(duration=0.01))


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the real app, in process, whose jobs take 10 ms."""
    async with in_process(_app(tmp_path)) as client:
        yield client


async def _submitted(http: httpx.AsyncClient, name: str) -> str:
    answer = await http.post("/forecast-jobs", json=forecast(name), headers=AUTH)
    assert answer.status_code == 202
    job_id: str = answer.json()["job_id"]
    return job_id


async def _until_completed(http: httpx.AsyncClient, job_id: str) -> None:
    with anyio.fail_after(10):
        while True:
            answer = await http.get(f"/forecast-jobs/{job_id}", headers=AUTH)
            if answer.json()["status"] == "completed":
                return
            await anyio.sleep(0.01)


def _questions(job_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every way of asking about one job: method, path, request options."""
    body: dict[str, Any] = {"job_ids": [job_id]}
    with_results = body | {"include_results": True}
    return [
        ("GET", f"/forecast-jobs/{job_id}", {}),
        ("GET", "/forecast-jobs/batch-status", {"params": {"job_ids": job_id}}),
        ("POST", "/forecast-jobs/batch-status", {"json": body}),
        ("POST", "/forecast-jobs/batch-status", {"json": body | {"wait": 1}}),
        ("POST", "/forecast-jobs/batch-status", {"json": with_results}),
        ("POST", "/forecast-jobs/batch-results", {"json": body}),
    ]


async def _comparable(
    http: httpx.AsyncClient, method: str, path: str, options: dict[str, Any]
) -> tuple[int, dict[str, str], bytes]:
    answer = await http.request(method, path, headers=OTHER, **options)
    headers = {
        name: value
        for name, value in answer.headers.items()
        if name not in VARYING_HEADERS
    }
    return answer.status_code, headers, answer.content


async def test_another_keys_job_answers_byte_for_byte_as_an_unknown_id(
    http: httpx.AsyncClient,
) -> None:
    """On every route that reads jobs, a finished job of another key gets the same
    status, headers and body (its id aside) as an id that never existed."""
    foreign = await _submitted(http, "owned")
    await _until_completed(http, foreign)
    never = "fj_" + secrets.token_hex(16)

    for (method, path, options), (_, unknown_path, unknown_options) in zip(
        _questions(foreign), _questions(never), strict=True
    ):
        status, headers, body = await _comparable(http, method, path, options)
        expected = await _comparable(http, method, unknown_path, unknown_options)
        seen = (status, headers, body.replace(foreign.encode(), never.encode()))
        assert seen == expected, f"{method} {path} {options} tells the job exists"

    feed = await http.get("/forecast-jobs/feed", headers=OTHER)
    assert feed.json()["jobs"] == []


async def test_an_idempotency_key_reused_by_another_key_makes_its_own_job(
    http: httpx.AsyncClient,
) -> None:
    """The same `Idempotency-Key` from two API keys gives two jobs, and no 409
    that would tell the second key the first one used it."""
    shared = {"Idempotency-Key": "the-same-key"}
    first = await http.post(
        "/forecast-jobs", json=forecast("one"), headers=AUTH | shared
    )
    second = await http.post(
        "/forecast-jobs", json=forecast("two"), headers=OTHER | shared
    )

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["job_id"] != second.json()["job_id"]


async def test_job_ids_are_128_random_bits_unrelated_to_requests_or_order(
    http: httpx.AsyncClient,
) -> None:
    """200 ids of one batch of identical requests: all `fj_` and 32 hex digits,
    all different, every digit position varied, not in order, no long shared
    prefix between neighbours."""
    batch = {"requests": [forecast("same")] * 200}
    answer = await http.post("/forecast-jobs/batch", json=batch, headers=AUTH)
    ids: list[str] = answer.json()["job_ids"]

    assert all(re.fullmatch(r"fj_[0-9a-f]{32}", job_id) for job_id in ids)
    assert len(set(ids)) == 200
    digits = [job_id[3:] for job_id in ids]
    # Below 10 of the 16 digits at any position in 200 draws: odds under 1e-40.
    assert min(len({d[i] for d in digits}) for i in range(32)) >= 10
    assert sorted(ids) != ids
    shared = [len(_common_prefix(a, b)) for a, b in itertools.pairwise(digits)]
    assert max(shared) <= 6


def _common_prefix(first: str, second: str) -> str:
    prefix = ""
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        prefix += a
    return prefix


async def test_keys_are_never_stored_or_logged_in_clear(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """After submits, reads, a wrong key and a rate-limited request, with every
    logger at DEBUG: no key in any log record, the job store's files or the
    settings, and no key in the client's error for a refused key."""
    app = _app(tmp_path, rate_limit_burst=3)
    caplog.set_level(logging.DEBUG)
    async with in_process(app) as http:
        api = HttpJobAPI(
            "http://app", api_key=KEY, transport=httpx.ASGITransport(app=app)
        )
        async with api:
            poller = Poller(api, "stack", deadline=30, progress=False)
            await poller.collect([forecast("logged")])
        wrong = HttpJobAPI(
            "http://app", api_key=WRONG_KEY, transport=httpx.ASGITransport(app=app)
        )
        async with wrong:
            with pytest.raises(AuthError) as refused:
                await wrong.get(JobId("fj_" + "0" * 32))
        for _ in range(5):
            await http.get("/capabilities", headers=AUTH)

    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    records = caplog.text + "".join(repr(r.args) for r in caplog.records)
    for key in (KEY, OTHER_KEY, WRONG_KEY):
        assert key not in records
        assert key.encode() not in stored
        assert key not in repr(app.state.service)
        assert key not in str(refused.value)
    assert "rate limit hit" in caplog.text


async def test_the_real_server_logs_no_key(live: LoopbackServer) -> None:
    """The uvicorn server's own log, at info, after good and refused requests."""
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        await http.get("/forecast-jobs/feed", headers=AUTH)
        await http.get(
            "/forecast-jobs/feed", headers={"Authorization": f"Bearer {WRONG_KEY}"}
        )
        await http.post("/forecast-jobs", json=forecast("log"), headers=AUTH)

    log = live.log.read_text()
    assert "GET /forecast-jobs/feed" in log
    for key in (KEY, OTHER_KEY, WRONG_KEY):
        assert key not in log


async def test_body_batch_and_query_limits_hold_over_real_http(
    live: LoopbackServer,
) -> None:
    """On the real server's defaults: a body over 16 MiB gets 413, a batch of
    1,001 requests or ids 422, a query over 8,000 bytes 414. (1,001 ids cannot
    fit in 8,000 bytes: the id count of a query is held in tests/server.)"""
    long_ids = {"job_ids": ["fj_" + "0" * 32] * 182}
    many_ids = {"job_ids": [str(n) for n in range(1001)]}
    async with httpx.AsyncClient(base_url=live.url, headers=AUTH, timeout=60) as http:
        body = await http.post(
            "/forecast-jobs",
            content=b" " * (16 * 1024 * 1024 + 1),
            headers={"Content-Type": "application/json"},
        )
        batch = await http.post(
            "/forecast-jobs/batch", json={"requests": [forecast("x")] * 1001}
        )
        status = await http.post("/forecast-jobs/batch-status", json=many_ids)
        results = await http.post("/forecast-jobs/batch-results", json=many_ids)
        long_query = await http.get("/forecast-jobs/batch-status", params=long_ids)

    assert (body.status_code, body.json()["error"]["code"]) == (413, "body_too_large")
    for refused in (batch, status, results):
        assert refused.status_code == 422
        assert "at most 1000" in refused.json()["error"]["message"]
    assert long_query.status_code == 414
    assert "at most 8000" in long_query.json()["error"]["message"]


def _every_route(app: FastAPI) -> list[tuple[str, str]]:
    """Every method and path the app serves, its own and FastAPI's."""
    routes = []
    for route in app.routes:
        methods = getattr(route, "methods", None) or {"GET"}
        path = getattr(route, "path", "")
        routes += [(method, path) for method in sorted(methods - {"HEAD"})]
    return routes


async def test_no_route_answers_without_a_key_but_health_and_the_documents(
    tmp_path: Path,
) -> None:
    """Every route of the app, asked with no key and a well-formed request:
    401 everywhere except health, the capability document and the API's own
    description."""
    app = _app(tmp_path)
    answered = set()
    async with in_process(app) as http:
        for method, path in _every_route(app):
            concrete = path.replace("{job_id}", "fj_" + "0" * 32)
            options: dict[str, Any] = {}
            if method == "POST":
                route = next(
                    r for r in app.routes if isinstance(r, APIRoute) and r.path == path
                )
                options["json"] = _well_formed_body(route.path)
            answer = await http.request(method, concrete, **options)
            if answer.status_code != 401:
                answered.add(f"{method} {path}")
            else:
                assert answer.json()["error"]["code"] == "unauthorized"

    assert answered == PUBLIC


def _well_formed_body(path: str) -> dict[str, Any]:
    if path == "/forecast-jobs":
        return forecast("no-key")
    if path == "/forecast-jobs/batch":
        return {"requests": [forecast("no-key")]}
    return {"job_ids": ["fj_" + "0" * 32]}
