"""The long-poll wait and the completion feed, in virtual time.

These run on trio only, with `MockClock(autojump_threshold=0)`: the clock jumps to
the next deadline whenever every task waits, so the times asserted are exact.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio.testing
from serverkit import AUTH, OTHER_AUTH, AppFactory, ControlledExecutor, serve

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    """Trio on a mock clock that autojumps."""
    return "trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}


def _request(name: str) -> dict[str, Any]:
    return {
        "model": "Naive",
        "horizon": 1,
        "series": [{"unique_id": name, "values": [1]}],
    }


async def _submit(client: httpx.AsyncClient, *names: str) -> list[str]:
    answer = await client.post(
        "/forecast-jobs/batch",
        json={"requests": [_request(n) for n in names]},
        headers=AUTH,
    )
    return list(answer.json()["job_ids"])


async def _wait(
    client: httpx.AsyncClient, ids: list[str], wait: float
) -> httpx.Response:
    return await client.post(
        "/forecast-jobs/batch-status", json={"job_ids": ids, "wait": wait}, headers=AUTH
    )


async def _feed(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await client.get("/forecast-jobs/feed", params=params, headers=AUTH)


async def test_wait_answers_when_a_job_completes(make_app: AppFactory) -> None:
    """A wait answers at the moment the first of its jobs completes."""
    executor = ControlledExecutor(durations={"a": 5.0, "b": 50.0})
    async with serve(make_app(executor)) as client:
        ids = await _submit(client, "a", "b")
        await trio.sleep(1)

        answer = await _wait(client, ids, 20)

        assert trio.current_time() == pytest.approx(5.0)
    assert answer.json()["jobs"][ids[0]]["status"] == "completed"
    assert answer.json()["jobs"][ids[1]]["status"] == "in_progress"


async def test_wait_answers_after_its_bound_when_nothing_changes(
    make_app: AppFactory,
) -> None:
    """With no change, a wait answers after exactly `wait` seconds."""
    async with serve(make_app(ControlledExecutor(duration=100.0))) as client:
        ids = await _submit(client, "a")
        await trio.sleep(1)

        answer = await _wait(client, ids, 12.5)

        assert trio.current_time() == pytest.approx(13.5)
    assert answer.json()["jobs"][ids[0]]["status"] == "in_progress"


async def test_wait_answers_at_once_when_a_job_is_already_done(
    make_app: AppFactory,
) -> None:
    """A wait over a finished or unknown job answers without waiting."""
    async with serve(make_app(ControlledExecutor(duration=1.0))) as client:
        ids = await _submit(client, "a")
        await trio.sleep(2)
        start = trio.current_time()

        done = await _wait(client, ids, 20)
        unknown = await _wait(client, ["fj_nope"], 20)

        assert trio.current_time() == start
    assert done.json()["jobs"][ids[0]]["status"] == "completed"
    assert unknown.json()["jobs"]["fj_nope"]["status"] == "not_found"


async def test_wait_is_woken_by_a_job_starting(make_app: AppFactory) -> None:
    """Queued to running is a change: the wait answers when the job starts."""
    executor = ControlledExecutor(capacity=1, durations={"first": 3.0, "second": 10.0})
    async with serve(make_app(executor)) as client:
        ids = await _submit(client, "first", "second")
        await trio.sleep(0.5)

        answer = await _wait(client, ids[1:], 20)

        assert trio.current_time() == pytest.approx(3.0)
    assert answer.json()["jobs"][ids[1]]["status"] == "in_progress"


async def test_feed_lingers_after_the_first_completion(make_app: AppFactory) -> None:
    """The feed answers `linger` after the first completion, with those after it."""
    durations = {"a": 1.0, "b": 1.1, "c": 1.2, "d": 5.0}
    async with serve(make_app(ControlledExecutor(durations=durations))) as client:
        ids = await _submit(client, "a", "b", "c", "d")

        page = await _feed(client, wait=30)

        assert trio.current_time() == pytest.approx(1.25)
    assert [j["job_id"] for j in page.json()["jobs"]] == ids[:3]
    assert all(j["status"] == "completed" for j in page.json()["jobs"])


async def test_feed_lingers_as_long_as_asked(make_app: AppFactory) -> None:
    """A `linger` in the query replaces the server's default."""
    durations = {"a": 1.0, "b": 2.5, "c": 4.0}
    async with serve(make_app(ControlledExecutor(durations=durations))) as client:
        ids = await _submit(client, "a", "b", "c")

        page = await _feed(client, wait=30, linger=2)

        assert trio.current_time() == pytest.approx(3.0)
    assert [j["job_id"] for j in page.json()["jobs"]] == ids[:2]


async def test_feed_answers_when_the_page_is_full(make_app: AppFactory) -> None:
    """A full page answers at once, before the linger ends."""
    durations = {"a": 1.0, "b": 1.1, "c": 1.2}
    async with serve(make_app(ControlledExecutor(durations=durations))) as client:
        ids = await _submit(client, "a", "b", "c")

        page = await _feed(client, wait=30, limit=2)

        assert trio.current_time() == pytest.approx(1.1)
    assert [j["job_id"] for j in page.json()["jobs"]] == ids[:2]


async def test_feed_resumes_after_its_cursor(make_app: AppFactory) -> None:
    """Pages chained by cursor give every completion exactly once, in order."""
    durations = {"a": 1.0, "b": 10.0, "c": 20.0}
    async with serve(make_app(ControlledExecutor(durations=durations))) as client:
        ids = await _submit(client, "a", "b", "c")
        seen: list[str] = []
        cursor = None
        while len(seen) < 3:
            params: dict[str, Any] = {"wait": 30}
            if cursor is not None:
                params["after"] = cursor
            page = (await _feed(client, **params)).json()
            seen += [j["job_id"] for j in page["jobs"]]
            cursor = page["cursor"]

        assert trio.current_time() == pytest.approx(20.25)
    assert seen == ids


async def test_feed_answers_empty_after_its_bound(make_app: AppFactory) -> None:
    """With nothing new, the feed answers after `wait`, with the same cursor."""
    async with serve(make_app(ControlledExecutor(duration=100.0))) as client:
        await _submit(client, "a")
        first = (await _feed(client)).json()

        later = (await _feed(client, after=first["cursor"], wait=7)).json()

        assert trio.current_time() == pytest.approx(7.0)
    assert first["jobs"] == later["jobs"] == []
    assert later["cursor"] == first["cursor"]


async def test_feed_answers_waiting_completions_at_once(make_app: AppFactory) -> None:
    """Completions already waiting are answered without a linger."""
    async with serve(make_app(ControlledExecutor(duration=1.0))) as client:
        await _submit(client, "a", "b")
        await trio.sleep(5)

        page = (await _feed(client, wait=30)).json()

        assert trio.current_time() == pytest.approx(5.0)
    assert len(page["jobs"]) == 2


async def test_feed_since_starts_after_a_time(make_app: AppFactory) -> None:
    """`since` starts the feed after a wall-clock time."""
    durations = {"a": 1.0, "b": 10.0}
    async with serve(make_app(ControlledExecutor(durations=durations))) as client:
        ids = await _submit(client, "a", "b")
        await trio.sleep(11)
        a_done = (await client.get(f"/forecast-jobs/{ids[0]}", headers=AUTH)).json()

        page = (await _feed(client, since=a_done["completed_at"])).json()

    assert [j["job_id"] for j in page["jobs"]] == ids[1:]


async def test_feed_shows_only_the_callers_jobs(make_app: AppFactory) -> None:
    """Another key's feed never shows this key's completions."""
    async with serve(make_app(ControlledExecutor(duration=1.0))) as client:
        await _submit(client, "a")

        foreign = await client.get(
            "/forecast-jobs/feed", params={"wait": 5}, headers=OTHER_AUTH
        )

        assert trio.current_time() == pytest.approx(5.0)
    assert foreign.json()["jobs"] == []


async def test_feed_carries_failures_with_their_error(make_app: AppFactory) -> None:
    """A failed job appears in the feed with `error` and its error."""
    executor = ControlledExecutor(duration=1.0, failures={"a": "boom"})
    async with serve(make_app(executor)) as client:
        await _submit(client, "a")

        page = (await _feed(client, wait=10)).json()

    (item,) = page["jobs"]
    assert item["status"] == "error"
    assert item["error"] == {"code": "forecast_failed", "message": "boom"}
    assert "result" not in item


async def test_a_result_expires_after_retention(make_app: AppFactory) -> None:
    """Past retention a job answers 410 `expired` and leaves the feed."""
    app = make_app(ControlledExecutor(duration=1.0), retention=100.0)
    async with serve(app) as client:
        ids = await _submit(client, "a")
        await trio.sleep(102)

        answer = await client.get(f"/forecast-jobs/{ids[0]}", headers=AUTH)
        batch = await _wait(client, ids, 0)
        published = await client.get(
            "/forecast-jobs/batch-status", params={"job_ids": ids}, headers=AUTH
        )
        page = (await _feed(client)).json()

    assert answer.status_code == 410
    assert answer.json()["status"] == "expired"
    assert "result" not in answer.json()
    assert batch.json()["jobs"][ids[0]]["status"] == "expired"
    assert published.json() == {ids[0]: "not_found"}
    assert page["jobs"] == []


async def test_unfinished_jobs_run_again_after_a_restart(make_app: AppFactory) -> None:
    """Jobs accepted but not finished when the app stopped are run by the next one."""
    async with serve(
        make_app(ControlledExecutor(hangs=frozenset({"a", "b"})))
    ) as client:
        ids = await _submit(client, "a", "b")
        await trio.sleep(1)

    executor = ControlledExecutor(duration=1.0)
    async with serve(make_app(executor)) as client:
        page = (await _feed(client, wait=10)).json()

    assert sorted(executor.executed) == sorted(ids)
    assert sorted(j["job_id"] for j in page["jobs"]) == sorted(ids)
