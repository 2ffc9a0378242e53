"""Every client mistake gets a 4xx with a JSON error that says what was wrong."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import attrs
import httpx
import pytest
from serverkit import AUTH, OTHER_AUTH, AppFactory, naive_request, serve

pytestmark = pytest.mark.anyio

LIMITS: dict[str, Any] = {
    "batch_limit": 5,
    "max_body_bytes": 4096,
    "max_url_length": 400,
    "max_horizon": 50,
    "max_series_length": 100,
    "max_series_per_request": 3,
    "max_wait": 30.0,
}


@attrs.frozen
class Bad:
    """One bad request and the answer it must get."""

    name: str
    method: str
    path: str
    status: int
    code: str
    message: str
    """A part of the error message."""
    json: Any = None
    content: bytes | None = None
    params: Any = None
    headers: dict[str, str] = attrs.field(factory=lambda: dict(AUTH))


def _with(**changes: Any) -> dict[str, Any]:
    return naive_request() | changes


def _series(values: Any) -> dict[str, Any]:
    return _with(series=[{"unique_id": "s", "values": values}])


JSON = AUTH | {"Content-Type": "application/json"}
FJ = "/forecast-jobs"

CASES = [
    Bad("no auth", "POST", FJ, 401, "unauthorized", "missing bearer token",
        json=naive_request(), headers={}),
    Bad("wrong key", "POST", FJ, 401, "unauthorized", "unknown API key",
        json=naive_request(), headers={"Authorization": "Bearer nope"}),
    Bad("not bearer", "GET", f"{FJ}/x", 401, "unauthorized", "missing bearer",
        headers={"Authorization": "Basic dXNlcjpwYXNz"}),
    Bad("malformed json", "POST", FJ, 400, "malformed_json", "not valid JSON",
        content=b'{"model": "Naive", ', headers=JSON),
    Bad("not an object", "POST", FJ, 422, "invalid_request", "valid dictionary",
        json=[1, 2]),
    Bad("wrong type of horizon", "POST", FJ, 422, "invalid_request", "horizon",
        json=_with(horizon="soon")),
    Bad("values not numbers", "POST", FJ, 422, "invalid_request",
        "series.0.values.0", json=_series(["a"])),
    Bad("unknown model", "POST", FJ, 422, "invalid_request", "model: Input should be",
        json=_with(model="Prophet")),
    Bad("negative horizon", "POST", FJ, 422, "invalid_request",
        "horizon: Input should be greater than or equal to 1", json=_with(horizon=-3)),
    Bad("horizon over the limit", "POST", FJ, 422, "invalid_request",
        "horizon: at most 50", json=_with(horizon=51)),
    Bad("NaN in a series", "POST", FJ, 422, "invalid_request",
        "series.0.values.1: Input should be a finite number",
        content=b'{"model":"Naive","horizon":1,"series":[{"unique_id":"s",'
        b'"values":[1,NaN]}]}', headers=JSON),
    Bad("Infinity in a series", "POST", FJ, 422, "invalid_request", "finite number",
        content=b'{"model":"Naive","horizon":1,"series":[{"unique_id":"s",'
        b'"values":[Infinity]}]}', headers=JSON),
    Bad("empty series", "POST", FJ, 422, "invalid_request",
        "series.0.values: List should have at least 1 item", json=_series([])),
    Bad("no series", "POST", FJ, 422, "invalid_request", "series: List should",
        json=_with(series=[])),
    Bad("series too long", "POST", FJ, 422, "invalid_request",
        "series.0.values: at most 100 values", json=_series([1.0] * 101)),
    Bad("too many series", "POST", FJ, 422, "invalid_request", "at most 3 series",
        json=_with(series=[{"unique_id": str(i), "values": [1]} for i in range(4)])),
    Bad("duplicate series id", "POST", FJ, 422, "invalid_request", "appears twice",
        json=_with(series=[{"unique_id": "a", "values": [1]}] * 2)),
    Bad("unknown field", "POST", FJ, 422, "invalid_request",
        "colour: Extra inputs are not permitted",
        json=_with(colour="blue")),
    Bad("oversized body", "POST", FJ, 413, "body_too_large", "over 4096 bytes",
        json=_series([1.0] * 2000)),
    Bad("batch over the limit", "POST", f"{FJ}/batch", 422, "invalid_request",
        "requests: at most 5 per request", json={"requests": [naive_request()] * 6}),
    Bad("empty batch", "POST", f"{FJ}/batch", 422, "invalid_request",
        "requests: List should have at least 1 item", json={"requests": []}),
    Bad("bad item in a batch", "POST", f"{FJ}/batch", 422, "invalid_request",
        "requests.1.horizon", json={"requests": [naive_request(), _with(horizon=0)]}),
    Bad("status batch over the limit", "POST", f"{FJ}/batch-status", 422,
        "invalid_request", "job_ids: at most 5", json={"job_ids": ["a"] * 6}),
    Bad("wait over the limit", "POST", f"{FJ}/batch-status", 422, "invalid_request",
        "wait: at most 30", json={"job_ids": ["a"], "wait": 31}),
    Bad("negative wait", "POST", f"{FJ}/batch-status", 422, "invalid_request",
        "wait: Input should be greater than or equal to 0",
        json={"job_ids": ["a"], "wait": -1}),
    Bad("results batch over the limit", "POST", f"{FJ}/batch-results", 422,
        "invalid_request", "job_ids: at most 5", json={"job_ids": ["a"] * 6}),
    Bad("too many ids in a query", "GET", f"{FJ}/batch-status", 414, "uri_too_long",
        "at most 5 ids", params={"job_ids": ["a"] * 6}),
    Bad("too long a query", "GET", f"{FJ}/batch-status", 414, "uri_too_long",
        "at most 400", params={"job_ids": [str(i) * 90 for i in range(5)]}),
    Bad("no ids in a query", "GET", f"{FJ}/batch-status", 422, "invalid_request",
        "job_ids: Field required"),
    Bad("unknown id", "GET", f"{FJ}/fj_{'0' * 32}", 404, "not_found", "no job"),
    Bad("too long an id", "GET", f"{FJ}/{'x' * 101}", 422, "invalid_request",
        "job_id: String should have at most 100 characters"),
    Bad("bad cursor", "GET", f"{FJ}/feed", 422, "invalid_request",
        "not a cursor this server gave", params={"after": "garbage"}),
    Bad("cursor out of range", "GET", f"{FJ}/feed", 422, "invalid_request",
        "not a cursor this server gave",
        params={"after": base64.urlsafe_b64encode(b"pf1:" + b"9" * 30).decode()}),
    Bad("cursor and since", "GET", f"{FJ}/feed", 422, "invalid_request",
        "either after or since", params={"after": "cGYxOjE", "since": 1}),
    Bad("feed limit over the page size", "GET", f"{FJ}/feed", 422,
        "invalid_request", "limit: at most 5", params={"limit": 6}),
    Bad("linger over the limit", "GET", f"{FJ}/feed", 422, "invalid_request",
        "linger: at most 30", params={"linger": 31}),
    Bad("feed limit zero", "GET", f"{FJ}/feed", 422, "invalid_request",
        "limit: Input should be greater than or equal to 1", params={"limit": 0}),
    Bad("long idempotency key", "POST", FJ, 422, "invalid_request",
        "Idempotency-Key", json=naive_request(),
        headers=AUTH | {"Idempotency-Key": "k" * 201}),
    Bad("unknown route", "GET", "/nowhere", 404, "not_found", "no route /nowhere"),
    Bad("wrong method", "DELETE", FJ, 405, "method_not_allowed", "DELETE"),
]  # fmt: skip


@pytest.fixture
async def limited(make_app: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with small limits."""
    async with serve(make_app(**LIMITS)) as client:
        yield client


@pytest.mark.parametrize("bad", CASES, ids=[c.name for c in CASES])
async def test_a_bad_request_gets_its_4xx_and_message(
    limited: httpx.AsyncClient, bad: Bad
) -> None:
    """The answer has the expected status, code and message, as JSON."""
    answer = await limited.request(
        bad.method,
        bad.path,
        json=bad.json,
        content=bad.content,
        params=bad.params,
        headers=bad.headers,
    )

    assert answer.status_code == bad.status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == bad.code
    assert bad.message in error["message"]


async def test_a_foreign_id_is_answered_as_unknown(limited: httpx.AsyncClient) -> None:
    """Another key's job gets 404 and the same message shape as no job at all."""
    job_id = (
        await limited.post("/forecast-jobs", json=naive_request(), headers=AUTH)
    ).json()["job_id"]

    answer = await limited.get(f"/forecast-jobs/{job_id}", headers=OTHER_AUTH)

    assert answer.status_code == 404
    assert answer.json()["error"] == {
        "code": "not_found",
        "message": f"no job {job_id!r}",
    }


async def test_unauthorized_answers_ask_for_a_bearer_token(
    limited: httpx.AsyncClient,
) -> None:
    """A 401 carries `WWW-Authenticate: Bearer`."""
    answer = await limited.get("/forecast-jobs/feed")

    assert answer.headers["www-authenticate"] == "Bearer"


async def test_a_chunked_body_over_the_limit_is_refused(make_app: AppFactory) -> None:
    """A body without Content-Length is counted as it arrives, and refused."""
    app = make_app(**LIMITS)
    chunks = [b" " * 1000] * 10
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop(), "more_body": bool(chunks)}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/forecast-jobs",
        "raw_path": b"/forecast-jobs",
        "query_string": b"",
        "headers": [(b"authorization", AUTH["Authorization"].encode())],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    await app(scope, receive, send)

    assert sent[0]["status"] == 413
    assert len(chunks) == 5
