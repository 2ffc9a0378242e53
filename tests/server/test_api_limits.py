"""Per-key rate limits and the `RateLimit-*` headers."""

from __future__ import annotations

import pytest
from serverkit import AUTH, OTHER_AUTH, AppFactory, serve

pytestmark = pytest.mark.anyio


async def test_every_answer_carries_the_rate_limit_headers(
    make_app: AppFactory,
) -> None:
    """Successes and errors alike carry RateLimit-Limit, -Remaining and -Reset."""
    async with serve(make_app(rate_limit_per_minute=100)) as client:
        answers = [
            await client.get("/health"),
            await client.get("/forecast-jobs/nope", headers=AUTH),
            await client.post("/forecast-jobs", content=b"{", headers=AUTH),
        ]

    for answer in answers:
        assert answer.headers["ratelimit-limit"] == "100"
        assert int(answer.headers["ratelimit-remaining"]) < 100
        assert int(answer.headers["ratelimit-reset"]) >= 0


async def test_over_the_limit_answers_429_with_retry_after(
    make_app: AppFactory,
) -> None:
    """The request past the per-minute limit gets 429 and an integer Retry-After."""
    async with serve(make_app(rate_limit_per_minute=3)) as client:
        for _ in range(3):
            assert (await client.get("/health", headers=AUTH)).status_code == 200

        answer = await client.get("/health", headers=AUTH)

    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert answer.headers["ratelimit-remaining"] == "0"


async def test_the_burst_limit_applies_within_one_second(make_app: AppFactory) -> None:
    """More than `rate_limit_burst` requests in a second get 429."""
    async with serve(make_app(rate_limit_burst=2)) as client:
        codes = [
            (await client.get("/health", headers=AUTH)).status_code for _ in range(3)
        ]

    assert codes == [200, 200, 429]


async def test_each_key_has_its_own_limit(make_app: AppFactory) -> None:
    """One key over its limit does not limit another."""
    async with serve(make_app(rate_limit_per_minute=2)) as client:
        for _ in range(3):
            await client.get("/health", headers=AUTH)

        other = await client.get("/health", headers=OTHER_AUTH)

    assert other.status_code == 200
