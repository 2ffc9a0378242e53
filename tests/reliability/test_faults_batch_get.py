"""3,000 ids in the published GET batch status: split to fit, every status back."""

from __future__ import annotations

import math
import uuid

import httpx
import pytest
from faultkit import KEY, answer, document, forecast
from loopback import LoopbackServer

from polling import HttpJobAPI, JobId, JobStatus, ProtocolError

pytestmark = pytest.mark.anyio

URL_LIMIT = 8000
"""The reference server's default bound on path and query, bytes."""


async def test_3000_ids_of_36_characters_are_split_under_the_url_limit(
    live: LoopbackServer,
) -> None:
    """2,995 unknown uuids and 5 real jobs: 17 GETs of at most 8,000 bytes of
    path and query, no 414, and a status for every one of the 3,000."""
    lengths: list[int] = []
    codes: list[int] = []

    async def on_request(request: httpx.Request) -> None:
        lengths.append(len(request.url.raw_path))

    async def on_response(response: httpx.Response) -> None:
        codes.append(response.status_code)

    client = httpx.AsyncClient(
        base_url=live.url,
        headers={"Authorization": f"Bearer {KEY}"},
        event_hooks={"request": [on_request], "response": [on_response]},
        timeout=30,
    )
    unknown = [JobId(str(uuid.UUID(int=n, version=4))) for n in range(2995)]
    assert {len(job_id) for job_id in unknown} == {36}
    async with client, HttpJobAPI(client=client) as api:
        real = [
            await api.submit(forecast(f"batch-get-{n}"), idempotency_key=None)
            for n in range(5)
        ]
        lengths.clear()
        codes.clear()
        states = await api.status_many_get([*unknown[:1500], *real, *unknown[1500:]])

    assert len(states) == 3000
    assert {states[job_id].status for job_id in unknown} == {JobStatus.NOT_FOUND}
    assert all(states[job_id].status is not JobStatus.NOT_FOUND for job_id in real)
    assert max(lengths) <= URL_LIMIT
    assert len(lengths) == math.ceil(3000 / 177) == 17
    assert set(codes) == {200}


async def test_a_get_batch_reply_missing_an_id_is_an_error_not_a_wait() -> None:
    """A published-form answer that leaves out an id raises `ProtocolError`
    naming it, instead of handing back a map without it."""
    ids = [JobId(f"fj_{n:032x}") for n in range(3)]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/capabilities":
            return answer(200, document("batch_status"))
        asked = request.url.params.get_list("job_ids")
        return answer(200, {job_id: "in_progress" for job_id in asked[:-1]})

    async with HttpJobAPI(
        "http://scripted", api_key=KEY, transport=httpx.MockTransport(handle)
    ) as api:
        with pytest.raises(ProtocolError, match=f"left out 1 of the 3 ids.*{ids[2]}"):
            await api.status_many_get(ids)
