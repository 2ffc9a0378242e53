"""500 jobs, 50 requests in flight, 10 connections: waiting for one is no failure."""

from __future__ import annotations

import httpx
import pytest
from faultkit import KEY, forecast
from loopback import LoopbackServer

from polling import HttpJobAPI, OutcomeKind, Poller, RequestKind

JOBS = 500
IN_FLIGHT = 50
CONNECTIONS = 10


@pytest.mark.anyio
async def test_500_jobs_with_50_in_flight_over_10_connections_meet_no_pool_timeout(
    live: LoopbackServer, anyio_backend: str
) -> None:
    """50 single gets at a time share 10 connections: every job completes with
    no retry, so no request waited out the 10 s pool timeout."""
    client = httpx.AsyncClient(
        base_url=live.url,
        headers={"Authorization": f"Bearer {KEY}"},
        limits=httpx.Limits(max_connections=CONNECTIONS),
        timeout=httpx.Timeout(60.0, pool=10.0),
    )
    requests = [forecast(f"pool-{anyio_backend}-{n}") for n in range(JOBS)]
    async with client, HttpJobAPI(client=client) as api:
        poller = Poller(
            api,
            f"semaphore:concurrency={IN_FLIGHT},interval=0.5",
            max_in_flight=IN_FLIGHT,
            deadline=300,
            progress=False,
        )
        outcomes = await poller.collect(requests)

    assert [o.kind for o in outcomes] == [OutcomeKind.COMPLETED] * JOBS
    assert poller.report is not None
    assert poller.report.retries == 0
    assert poller.report.rejected == 0
    assert poller.report.requests[RequestKind.GET] >= JOBS
