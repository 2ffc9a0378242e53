"""The HTTP job API: every answer of the server mapped, and runs over real HTTP."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from httpkit import (
    CAPABILITIES,
    KEY,
    Handler,
    answer,
    error,
    ids_of,
    live_server,
    naive_request,
    routes,
)
from loopback import LoopbackServer

from polling import (
    AuthError,
    Backoff,
    Budget,
    Capabilities,
    CapabilityMissing,
    HttpJobAPI,
    JobId,
    JobStatus,
    OutcomeKind,
    Poller,
    ProtocolError,
    RateLimit,
    RateLimited,
    RejectedError,
    RequestKind,
    TransientError,
    strategy_from,
)

ID = JobId("fj_" + "a" * 32)
OTHER = JobId("fj_" + "b" * 32)

RUNNING = {"status": "in_progress", "started_at": 1.0, "completed_at": None}
DONE = {
    "job_id": ID,
    "submitted_at": 0.5,
    "status": "completed",
    "started_at": 1.0,
    "completed_at": 2.0,
    "result": {"model": "Naive", "horizon": 1, "forecasts": {"s": [3.0]}},
}


def api_on(handler: Handler, **options: Any) -> HttpJobAPI:
    """The real client on a scripted server."""
    return HttpJobAPI(
        "http://test", api_key=KEY, transport=httpx.MockTransport(handler), **options
    )


@pytest.fixture
async def connected() -> AsyncIterator[HttpJobAPI]:
    """A client whose server has every capability and answers nothing else."""
    async with api_on(routes()) as api:
        yield api


@pytest.mark.anyio
async def test_connect_reads_the_capability_document() -> None:
    """Batch sizes, waits, the feed, the rate limit and idempotency come from it."""
    async with api_on(routes()) as api:
        assert api.capabilities == Capabilities(
            batch_submit=1000,
            batch_status=1000,
            batch_results=1000,
            wait=30.0,
            feed=1000,
            feed_wait=30.0,
            rate_limit=RateLimit(per_second=166.667, burst=1000),
            idempotent_submit=True,
        )
        assert api.get_status_max == CAPABILITIES["limits"]["batch_status_get_max"]


@pytest.mark.anyio
async def test_features_left_out_of_the_document_are_absent() -> None:
    """A feature the document does not list is no capability."""
    document = CAPABILITIES | {"features": ["batch_status"]}
    handler = routes(GET_capabilities=lambda _: answer(200, document))
    async with api_on(handler) as api:
        caps = api.capabilities
    assert caps.batch_status == 1000
    assert not caps.has(RequestKind.BATCH_SUBMIT)
    assert not caps.has(RequestKind.FEED)
    assert not caps.has(RequestKind.WAIT)
    assert not caps.idempotent_submit


@pytest.mark.anyio
async def test_no_capability_document_means_single_calls_only() -> None:
    """A server that answers 404 for the document gets single submits and gets."""
    handler = routes(GET_capabilities=lambda _: error(404, "not_found", "no"))
    async with api_on(handler) as api:
        assert api.capabilities == Capabilities()


@pytest.mark.anyio
async def test_first_call_connects_lazily() -> None:
    """A call made before `connect` reads the document first."""
    api = api_on(routes(GET_forecast_jobs_ID=lambda _: answer(200, DONE)))
    await api.get(ID)
    assert api.capabilities.batch_status == 1000
    await api.aclose()


@pytest.mark.anyio
async def test_requests_carry_the_bearer_key_and_idempotency_key() -> None:
    """Every request has the key; a submit has its idempotency key."""
    seen: list[httpx.Request] = []

    def submit(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(202, {"job_id": ID, "status": "queued", "submitted_at": 1.0})

    async with api_on(routes(POST_forecast_jobs=submit)) as api:
        job_id = await api.submit(naive_request([1.0]), idempotency_key="k-1")
    assert job_id == ID
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert seen[0].headers["Idempotency-Key"] == "k-1"
    assert json.loads(seen[0].content) == naive_request([1.0])


@pytest.mark.anyio
async def test_batch_submit_returns_ids_in_order_under_one_key() -> None:
    """The batch carries the first key and gives the ids back in order."""
    seen: list[httpx.Request] = []

    def submit(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(202, {"job_ids": [ID, OTHER]})

    async with api_on(routes(POST_forecast_jobs_batch=submit)) as api:
        requests = [naive_request([1.0]), naive_request([2.0])]
        ids = await api.submit_many(requests, idempotency_keys=["k-1", "k-2"])
    assert ids == [ID, OTHER]
    assert seen[0].headers["Idempotency-Key"] == "k-1"
    assert json.loads(seen[0].content) == {"requests": requests}


@pytest.mark.anyio
async def test_get_reads_a_completed_job() -> None:
    """Status, result, times and `has_result` come from the answer."""
    async with api_on(routes(GET_forecast_jobs_ID=lambda _: answer(200, DONE))) as api:
        state = await api.get(ID)
    assert state.status is JobStatus.COMPLETED
    assert state.result == DONE["result"]
    assert state.has_result
    assert (state.started_at, state.completed_at) == (1.0, 2.0)


@pytest.mark.anyio
async def test_get_reads_a_failed_job_with_its_error() -> None:
    """A job's error becomes one line of code and message."""
    failed = DONE | {"status": "error", "result": None}
    failed["error"] = {"code": "forecast_failed", "message": "too short"}
    async with api_on(
        routes(GET_forecast_jobs_ID=lambda _: answer(200, failed))
    ) as api:
        state = await api.get(ID)
    assert state.status is JobStatus.FAILED
    assert state.error == "forecast_failed: too short"
    assert not state.has_result


@pytest.mark.anyio
async def test_queued_and_running_read_as_pending_and_running() -> None:
    """The wire words `queued` and `in_progress` are translated."""
    words = iter(["queued", "in_progress"])

    def get(_: httpx.Request) -> httpx.Response:
        return answer(202, DONE | {"status": next(words), "result": None})

    async with api_on(routes(GET_forecast_jobs_ID=get)) as api:
        assert (await api.get(ID)).status is JobStatus.PENDING
        assert (await api.get(ID)).status is JobStatus.RUNNING


@pytest.mark.anyio
async def test_unknown_status_word_is_a_protocol_error() -> None:
    """A status the client does not know is an error, never "still pending"."""
    unknown = DONE | {"status": "paused"}
    batch = {"jobs": {ID: {"status": "paused"}}}
    handler = routes(
        GET_forecast_jobs_ID=lambda _: answer(200, unknown),
        POST_forecast_jobs_batch_status=lambda _: answer(200, batch),
    )
    async with api_on(handler) as api:
        with pytest.raises(ProtocolError, match="paused"):
            await api.get(ID)
        with pytest.raises(ProtocolError, match="paused"):
            await api.status_many([ID])


@pytest.mark.anyio
async def test_a_body_that_is_not_json_is_a_protocol_error() -> None:
    """An answer the client cannot read is an error."""
    handler = routes(GET_forecast_jobs_ID=lambda _: httpx.Response(200, text="<html>"))
    async with api_on(handler) as api:
        with pytest.raises(ProtocolError):
            await api.get(ID)


@pytest.mark.anyio
async def test_410_is_expired() -> None:
    """A job whose result passed retention reads as expired."""
    gone = {
        "error": {"code": "expired", "message": "gone"},
        "job_id": ID,
        "status": "expired",
        "submitted_at": 0.5,
        "started_at": 1.0,
        "completed_at": 2.0,
    }
    async with api_on(routes(GET_forecast_jobs_ID=lambda _: answer(410, gone))) as api:
        state = await api.get(ID)
    assert state.status is JobStatus.EXPIRED
    assert state.completed_at == 2.0


@pytest.mark.anyio
async def test_404_right_after_submit_reads_as_pending() -> None:
    """Within the grace period a job this client submitted is not yet missing."""
    handler = routes(
        POST_forecast_jobs=lambda _: answer(202, {"job_id": ID}),
        GET_forecast_jobs_ID=lambda _: error(404, "not_found", "no job"),
        POST_forecast_jobs_batch_status=lambda _: answer(
            200, {"jobs": {ID: {"status": "not_found"}}}
        ),
    )
    async with api_on(handler, grace=60.0) as api:
        await api.submit(naive_request([1.0]), idempotency_key=None)
        assert (await api.get(ID)).status is JobStatus.PENDING
        assert (await api.status_many([ID]))[ID].status is JobStatus.PENDING


@pytest.mark.anyio
async def test_404_after_the_grace_period_is_not_found() -> None:
    """Once the grace period has passed, a 404 is `not_found`."""
    handler = routes(
        POST_forecast_jobs=lambda _: answer(202, {"job_id": ID}),
        GET_forecast_jobs_ID=lambda _: error(404, "not_found", "no job"),
    )
    async with api_on(handler, grace=0.0) as api:
        await api.submit(naive_request([1.0]), idempotency_key=None)
        assert (await api.get(ID)).status is JobStatus.NOT_FOUND


@pytest.mark.anyio
async def test_the_grace_period_ends() -> None:
    """The same 404 reads pending just after the submit and `not_found` later."""
    handler = routes(
        POST_forecast_jobs=lambda _: answer(202, {"job_id": ID}),
        GET_forecast_jobs_ID=lambda _: error(404, "not_found", "no job"),
    )
    async with api_on(handler, grace=0.2) as api:
        await api.submit(naive_request([1.0]), idempotency_key=None)
        assert (await api.get(ID)).status is JobStatus.PENDING
        await anyio.sleep(0.3)
        assert (await api.get(ID)).status is JobStatus.NOT_FOUND


@pytest.mark.anyio
async def test_404_for_a_job_never_submitted_here_is_not_found() -> None:
    """The grace period covers only jobs this client submitted."""
    handler = routes(GET_forecast_jobs_ID=lambda _: error(404, "not_found", "no"))
    async with api_on(handler, grace=60.0) as api:
        assert (await api.get(ID)).status is JobStatus.NOT_FOUND


@pytest.mark.anyio
@pytest.mark.parametrize("code", [401, 403])
async def test_401_and_403_are_auth_errors(code: int) -> None:
    """A refused key fails at once, on every route."""
    refuse = lambda _: error(code, "unauthorized", "bad key")  # noqa: E731
    handler = routes(
        GET_forecast_jobs_ID=refuse,
        POST_forecast_jobs_batch_status=refuse,
        POST_forecast_jobs=refuse,
    )
    async with api_on(handler) as api:
        with pytest.raises(AuthError, match="bad key"):
            await api.get(ID)
        with pytest.raises(AuthError):
            await api.status_many([ID])
        with pytest.raises(AuthError):
            await api.submit(naive_request([1.0]), idempotency_key=None)


@pytest.mark.anyio
async def test_auth_error_is_not_retried_by_the_budget() -> None:
    """The budget sends a refused request once."""
    calls: list[int] = []

    def refuse(_: httpx.Request) -> httpx.Response:
        calls.append(1)
        return error(401, "unauthorized", "bad key")

    async with api_on(routes(GET_forecast_jobs_ID=refuse)) as api:
        budget = Budget(backoff=Backoff(initial=0.001))
        with pytest.raises(AuthError):
            await budget.call(RequestKind.GET, lambda: api.get(ID))
    assert len(calls) == 1


@pytest.mark.anyio
async def test_429_carries_retry_after_in_seconds() -> None:
    """`Retry-After: 7` is a wait of 7 seconds."""
    limited = lambda _: answer(  # noqa: E731
        429, {"error": {"code": "rate_limited"}}, {"Retry-After": "7"}
    )
    async with api_on(routes(GET_forecast_jobs_ID=limited)) as api:
        with pytest.raises(RateLimited) as caught:
            await api.get(ID)
    assert caught.value.retry_after == 7.0


@pytest.mark.anyio
async def test_429_carries_retry_after_as_a_date() -> None:
    """`Retry-After` as an HTTP date is the time until it."""
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    limited = lambda _: answer(  # noqa: E731
        429, {"error": {"code": "rate_limited"}}, {"Retry-After": when}
    )
    async with api_on(routes(GET_forecast_jobs_ID=limited)) as api:
        with pytest.raises(RateLimited) as caught:
            await api.get(ID)
    assert caught.value.retry_after is not None
    assert 25 <= caught.value.retry_after <= 30


@pytest.mark.anyio
async def test_429_without_retry_after_leaves_the_wait_to_the_backoff() -> None:
    """No usable header gives no wait."""
    limited = lambda _: error(429, "rate_limited", "slow down")  # noqa: E731
    async with api_on(routes(GET_forecast_jobs_ID=limited)) as api:
        with pytest.raises(RateLimited) as caught:
            await api.get(ID)
    assert caught.value.retry_after is None


@pytest.mark.anyio
@pytest.mark.parametrize("code", [502, 503, 504])
async def test_5xx_is_transient_and_may_have_been_sent(code: int) -> None:
    """A gateway or unavailable answer is a transient error after sending."""
    handler = routes(GET_forecast_jobs_ID=lambda _: httpx.Response(code, text="down"))
    async with api_on(handler) as api:
        with pytest.raises(TransientError) as caught:
            await api.get(ID)
    assert caught.value.sent
    assert caught.value.job_id == ID


@pytest.mark.anyio
async def test_503_then_200_is_retried_by_the_budget() -> None:
    """The budget retries a 503 and gets the job."""
    answers = iter([httpx.Response(503, text="restarting"), answer(200, DONE)])
    async with api_on(routes(GET_forecast_jobs_ID=lambda _: next(answers))) as api:
        budget = Budget(backoff=Backoff(initial=0.001))
        state = await budget.call(RequestKind.GET, lambda: api.get(ID))
    assert state.status is JobStatus.COMPLETED
    assert budget.retries == 1


@pytest.mark.anyio
async def test_connect_error_is_transient_and_not_sent() -> None:
    """A request that never reached the server may be sent again safely."""

    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/capabilities":
            return answer(200, CAPABILITIES)
        raise httpx.ConnectError("connection refused", request=request)

    async with api_on(refuse) as api:
        with pytest.raises(TransientError) as caught:
            await api.submit(naive_request([1.0]), idempotency_key=None)
    assert not caught.value.sent
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.anyio
async def test_read_timeout_is_transient_and_may_have_been_sent() -> None:
    """A request whose answer was lost may have been received."""

    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    async with api_on(routes(POST_forecast_jobs=time_out)) as api:
        with pytest.raises(TransientError) as caught:
            await api.submit(naive_request([1.0]), idempotency_key=None)
    assert caught.value.sent


@pytest.mark.anyio
@pytest.mark.parametrize("code", [404, 405])
async def test_404_or_405_on_a_batch_route_is_a_missing_capability(code: int) -> None:
    """A batch route the server lacks is `CapabilityMissing`, for each kind."""
    missing = lambda _: error(code, "not_found", "no route")  # noqa: E731
    handler = routes(
        POST_forecast_jobs_batch=missing,
        POST_forecast_jobs_batch_status=missing,
        POST_forecast_jobs_batch_results=missing,
        GET_forecast_jobs_feed=missing,
        GET_forecast_jobs_batch_status=missing,
    )
    async with api_on(handler) as api:
        with pytest.raises(CapabilityMissing):
            await api.submit_many([naive_request([1.0])], idempotency_keys=[None])
        with pytest.raises(CapabilityMissing):
            await api.status_many([ID])
        with pytest.raises(CapabilityMissing):
            await api.status_many([ID], wait=5)
        with pytest.raises(CapabilityMissing):
            await api.results_many([ID])
        with pytest.raises(CapabilityMissing):
            await api.feed(None, limit=10, wait=0)
        with pytest.raises(CapabilityMissing):
            await api.status_many_get([ID])


@pytest.mark.anyio
async def test_other_4xx_is_rejected_with_the_servers_message() -> None:
    """A 422 is `RejectedError` carrying what the server said was wrong."""
    invalid = lambda _: error(  # noqa: E731
        422, "invalid_request", "horizon: Input should be greater than or equal to 1"
    )
    async with api_on(routes(POST_forecast_jobs=invalid)) as api:
        with pytest.raises(RejectedError, match="horizon: Input should be") as caught:
            await api.submit(naive_request([1.0], horizon=0), idempotency_key=None)
    assert caught.value.kind is RequestKind.SUBMIT


@pytest.mark.anyio
async def test_batch_status_reads_states_without_results() -> None:
    """Every id in the map gets its state; results stay out."""
    jobs = {ID: DONE | {"result": None}, OTHER: RUNNING}
    del jobs[ID]["result"]
    seen: list[dict[str, Any]] = []

    def status(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return answer(200, {"jobs": jobs})

    async with api_on(routes(POST_forecast_jobs_batch_status=status)) as api:
        states = await api.status_many([ID, OTHER], wait=5)
    assert states[ID].status is JobStatus.COMPLETED
    assert not states[ID].has_result
    assert states[OTHER].status is JobStatus.RUNNING
    assert seen == [{"job_ids": [ID, OTHER], "include_results": False, "wait": 5}]


@pytest.mark.anyio
async def test_batch_results_reads_results() -> None:
    """A completed job in the results map carries its result."""
    jobs = {ID: DONE, OTHER: RUNNING}
    handler = routes(
        POST_forecast_jobs_batch_results=lambda _: answer(200, {"jobs": jobs})
    )
    async with api_on(handler) as api:
        states = await api.results_many([ID, OTHER])
    assert states[ID].has_result
    assert states[ID].result == DONE["result"]
    assert not states[OTHER].has_result


@pytest.mark.anyio
async def test_a_reply_leaving_out_ids_is_passed_through() -> None:
    """Ids the server did not answer about are not made up."""
    handler = routes(
        POST_forecast_jobs_batch_status=lambda _: answer(200, {"jobs": {ID: RUNNING}})
    )
    async with api_on(handler) as api:
        states = await api.status_many([ID, OTHER])
    assert set(states) == {ID}


@pytest.mark.anyio
async def test_the_poller_fails_a_job_left_out_of_a_reply() -> None:
    """Through the engine, a left-out job ends failed rather than waiting forever."""
    done = {k: v for k, v in DONE.items() if k not in ("job_id", "submitted_at")}
    handler = routes(
        POST_forecast_jobs_batch=lambda _: answer(202, {"job_ids": [ID, OTHER]}),
        POST_forecast_jobs_batch_status=lambda _: answer(200, {"jobs": {ID: done}}),
        POST_forecast_jobs_batch_results=lambda _: answer(200, {"jobs": {ID: done}}),
    )
    document = CAPABILITIES | {
        "features": ["batch_submit", "batch_status", "batch_results", "idempotency"]
    }
    handler_with_doc = _with_document(handler, document)
    async with api_on(handler_with_doc) as api:
        poller = Poller(api, strategy_from("batch"), progress=False, deadline=30)
        outcomes = await poller.collect([naive_request([1.0]), naive_request([2.0])])
    assert [o.kind for o in outcomes] == [OutcomeKind.COMPLETED, OutcomeKind.FAILED]
    assert "left out" in (outcomes[1].error or "")


def _with_document(handler: Handler, document: dict[str, Any]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/capabilities":
            return answer(200, document)
        return handler(request)

    return handle


@pytest.mark.anyio
async def test_feed_reads_a_page_and_its_cursor() -> None:
    """Feed items become states with results; the cursor is passed on as `after`."""
    seen: list[httpx.Request] = []
    item = {"job_id": ID, "status": "completed", "completed_at": 2.0, "result": 1}

    def feed(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(200, {"jobs": [item], "cursor": "c2"})

    async with api_on(routes(GET_forecast_jobs_feed=feed)) as api:
        page = await api.feed("c1", limit=10, wait=2.0)
    assert page.cursor == "c2"
    [state] = page.jobs
    assert (state.job_id, state.status, state.result) == (ID, JobStatus.COMPLETED, 1)
    assert state.has_result
    params = seen[0].url.params
    assert (params["after"], params["limit"], params["wait"]) == ("c1", "10", "2.0")


@pytest.mark.anyio
async def test_a_feed_without_cursor_starts_at_since() -> None:
    """The first page of a run asks from `since`; a cursor, once known, wins."""
    seen: list[httpx.Request] = []

    def feed(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(200, {"jobs": [], "cursor": "c1"})

    async with api_on(routes(GET_forecast_jobs_feed=feed)) as api:
        await api.feed(None, limit=10, wait=0.0, since=1700000000.5)
        await api.feed("c1", limit=10, wait=0.0, since=1700000000.5)
    first, second = (request.url.params for request in seen)
    assert (first["since"], "after" in first) == ("1700000000.5", False)
    assert (second["after"], "since" in second) == ("c1", False)


def _published(request: httpx.Request, *, most: int) -> httpx.Response:
    ids = ids_of(request)
    if len(ids) > most:
        return error(414, "uri_too_long", f"at most {most} ids")
    return answer(200, dict.fromkeys(ids, "in_progress"))


@pytest.mark.anyio
async def test_get_form_splits_on_414_and_remembers_the_size() -> None:
    """A 414 halves the batch; later calls start at the smaller size."""
    sizes: list[int] = []

    def status(request: httpx.Request) -> httpx.Response:
        sizes.append(len(ids_of(request)))
        return _published(request, most=50)

    ids = [JobId(f"fj_{n:032x}") for n in range(150)]
    async with api_on(routes(GET_forecast_jobs_batch_status=status)) as api:
        states = await api.status_many_get(ids)
        assert set(states) == set(ids)
        assert all(s.status is JobStatus.RUNNING for s in states.values())
        assert api.get_status_max is not None
        assert api.get_status_max <= 50
        sizes.clear()
        await api.status_many_get(ids)
    assert max(sizes) <= 50
    assert sum(sizes) == 150


@pytest.mark.anyio
async def test_get_form_splits_by_url_length() -> None:
    """No request's path and query is longer than the server allows."""
    lengths: list[int] = []

    def status(request: httpx.Request) -> httpx.Response:
        lengths.append(len(request.url.raw_path))
        return _published(request, most=1000)

    document = CAPABILITIES | {
        "limits": CAPABILITIES["limits"] | {"max_url_length": 500}
    }
    handler = _with_document(routes(GET_forecast_jobs_batch_status=status), document)
    ids = [JobId(f"fj_{n:032x}") for n in range(100)]
    async with api_on(handler) as api:
        states = await api.status_many_get(ids)
    assert set(states) == set(ids)
    assert max(lengths) <= 500
    assert len(lengths) > 1


@pytest.mark.anyio
async def test_get_form_single_id_refused_is_rejected() -> None:
    """A 414 for one id cannot be split and is a refusal."""
    handler = routes(GET_forecast_jobs_batch_status=lambda r: _published(r, most=0))
    async with api_on(handler) as api:
        with pytest.raises(RejectedError, match="414"):
            await api.status_many_get([ID])


@pytest.mark.anyio
async def test_a_client_passed_in_is_left_open() -> None:
    """Only the client the API made is closed on exit."""
    client = httpx.AsyncClient(
        base_url="http://test", transport=httpx.MockTransport(routes())
    )
    async with HttpJobAPI(client=client):
        pass
    assert not client.is_closed
    await client.aclose()


@pytest.mark.anyio
async def test_clock_is_unix_seconds(connected: HttpJobAPI) -> None:
    """The clock is the wall clock the server's timestamps are on."""
    assert abs(connected.clock() - time.time()) < 5


# End to end: the reference server in a subprocess on loopback.

REQUESTS = [naive_request([float(n), n + 1.5, n * 2.0], horizon=2) for n in range(20)]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    """One running reference server for the end-to-end tests of this module."""
    running = live_server(Path(tmp_path_factory.mktemp("http-server")))
    running.start()
    yield running
    running.stop()


@pytest.mark.anyio
@pytest.mark.parametrize("strategy", ["stack", "batch", "semaphore"])
async def test_real_server_results_equal_the_forecasts(
    live: LoopbackServer, strategy: str
) -> None:
    """Every job collected over HTTP equals the forecast computed directly."""
    from server.forecast import run_forecast

    async with HttpJobAPI(live.url, api_key=KEY) as api:
        poller = Poller(api, strategy_from(strategy), progress=False, deadline=120)
        outcomes = await poller.collect(REQUESTS)
    assert all(o.kind is OutcomeKind.COMPLETED for o in outcomes), outcomes
    assert [o.result for o in outcomes] == [run_forecast(r) for r in REQUESTS]
    assert poller.report is not None
    assert poller.report.rejected == 0


@pytest.mark.anyio
async def test_real_server_unknown_job_and_wrong_key(live: LoopbackServer) -> None:
    """The real server's 404 is `not_found` and its 401 an auth error."""
    async with HttpJobAPI(live.url, api_key=KEY) as api:
        assert (await api.get(ID)).status is JobStatus.NOT_FOUND
        published = await api.status_many_get([ID, OTHER])
        assert {s.status for s in published.values()} == {JobStatus.NOT_FOUND}
    async with HttpJobAPI(live.url, api_key="wrong") as api:
        with pytest.raises(AuthError):
            await api.get(ID)


@pytest.mark.anyio
async def test_real_server_rejects_a_bad_request_with_its_message(
    live: LoopbackServer,
) -> None:
    """A 422 from the real server names the field."""
    async with HttpJobAPI(live.url, api_key=KEY) as api:
        with pytest.raises(RejectedError, match="horizon"):
            await api.submit(naive_request([1.0], horizon=0), idempotency_key=None)


def _scripted_run(status: Handler, submit: Handler | None = None) -> Handler:
    """A server with batch submit, status and results, and no feed or wait."""
    document = CAPABILITIES | {
        "features": ["batch_submit", "batch_status", "batch_results", "idempotency"]
    }
    done = {k: v for k, v in DONE.items() if k not in ("job_id", "submitted_at")}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/capabilities":
            return answer(200, document)
        if request.url.path == "/forecast-jobs/batch":
            return (submit or (lambda _: answer(202, {"job_ids": [ID]})))(request)
        if request.url.path == "/forecast-jobs/batch-status":
            return status(request)
        return answer(200, {"jobs": dict.fromkeys(ids_of(request), done)})

    return handle


@pytest.mark.anyio
async def test_the_poller_waits_out_a_429_and_collects() -> None:
    """Through the engine, a 429 with `Retry-After` pauses, then the run completes."""
    calls: list[float] = []

    def status(_: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return answer(
                429, {"error": {"code": "rate_limited"}}, {"Retry-After": "1"}
            )
        return answer(200, {"jobs": {ID: {"status": "completed", "completed_at": 2.0}}})

    handler = _scripted_run(status)
    async with api_on(handler) as api:
        poller = Poller(api, strategy_from("batch"), progress=False, deadline=30)
        [outcome] = await poller.collect([naive_request([1.0])])
    assert outcome.kind is OutcomeKind.COMPLETED
    assert outcome.result == DONE["result"]
    assert poller.report is not None
    assert poller.report.rejected == 1
    assert calls[1] - calls[0] >= 0.9


@pytest.mark.anyio
async def test_a_spent_quota_holds_every_request_until_its_reset() -> None:
    """`RateLimit-Remaining: 0` on a success pauses the run until the reset:
    the next request waits it out instead of running into a 429."""
    calls: list[float] = []

    def status(_: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            running = {ID: {"status": "in_progress", "started_at": 1.0}}
            spent = {"RateLimit-Remaining": "0", "RateLimit-Reset": "2"}
            return answer(200, {"jobs": running}, spent)
        return answer(200, {"jobs": {ID: {"status": "completed", "completed_at": 2.0}}})

    handler = _scripted_run(status)
    async with api_on(handler) as api:
        poller = Poller(api, "batch:interval=0.1", progress=False, deadline=30)
        [outcome] = await poller.collect([naive_request([1.0])])
    assert outcome.kind is OutcomeKind.COMPLETED
    assert poller.report is not None
    assert poller.report.rejected == 0
    # Swept every 0.1 s otherwise.
    assert calls[1] - calls[0] >= 1.9


@pytest.mark.anyio
async def test_the_poller_resends_a_batch_submit_after_a_503() -> None:
    """An idempotent batch submit that met a 503 is sent again with the same key."""
    keys: list[str | None] = []

    def submit(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        if len(keys) == 1:
            return httpx.Response(503, text="restarting")
        return answer(202, {"job_ids": [ID]})

    done = {"status": "completed", "completed_at": 2.0}
    handler = _scripted_run(lambda _: answer(200, {"jobs": {ID: done}}), submit)
    async with api_on(handler) as api:
        poller = Poller(
            api,
            strategy_from("batch"),
            progress=False,
            deadline=30,
            backoff=Backoff(initial=0.01),
        )
        [outcome] = await poller.collect([naive_request([1.0])])
    assert outcome.kind is OutcomeKind.COMPLETED
    assert len(keys) == 2
    assert keys[0] is not None
    assert keys[0] == keys[1]
    assert poller.report is not None
    assert poller.report.retries == 1
