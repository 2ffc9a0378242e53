"""A property of the feed: a chain of cursors gives every completion exactly once."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from serverkit import AUTH, KEY, ControlledExecutor, serve, virtual_clock

from server import Settings, create_app


async def _collect(
    durations: list[float], limit: int, wait: float, db: Path
) -> tuple[list[str], list[str]]:
    names = [f"s{i}" for i in range(len(durations))]
    executor = ControlledExecutor(durations=dict(zip(names, durations, strict=True)))
    settings = Settings.with_api_keys(
        [KEY], db_path=db, clock=virtual_clock, offload_db=False
    )
    async with serve(create_app(settings, executor=executor)) as client:
        requests = [
            {
                "model": "Naive",
                "horizon": 1,
                "series": [{"unique_id": n, "values": [1]}],
            }
            for n in names
        ]
        ids = (
            await client.post(
                "/forecast-jobs/batch", json={"requests": requests}, headers=AUTH
            )
        ).json()["job_ids"]
        seen: list[str] = []
        params: dict[str, Any] = {"limit": limit, "wait": wait}
        while len(seen) < len(ids):
            page = await _page(client, params)
            seen += [job["job_id"] for job in page["jobs"]]
            params["after"] = page["cursor"]

        last = await _page(client, params | {"wait": 0})
        assert last["jobs"] == []
    return ids, seen


async def _page(client: httpx.AsyncClient, params: dict[str, Any]) -> Any:
    answer = await client.get("/forecast-jobs/feed", params=params, headers=AUTH)
    assert answer.status_code == 200
    return answer.json()


@given(
    durations=st.lists(
        st.floats(min_value=0.0, max_value=60.0, allow_nan=False),
        min_size=1,
        max_size=25,
    ),
    limit=st.integers(min_value=1, max_value=7),
    wait=st.sampled_from([0.5, 5.0, 30.0]),
)
def test_a_cursor_chain_gives_each_completion_once_in_order(
    durations: list[float], limit: int, wait: float
) -> None:
    """Whatever the job times and page sizes: each job once, in completion order."""
    with tempfile.TemporaryDirectory() as tmp:
        ids, seen = trio.run(
            _collect,
            durations,
            limit,
            wait,
            Path(tmp) / "jobs.sqlite",
            clock=trio.testing.MockClock(autojump_threshold=0),
        )

    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    finish = {job_id: d for job_id, d in zip(ids, durations, strict=True)}
    assert [finish[j] for j in seen] == sorted(finish[j] for j in seen)
