"""`create_app`: the forecast-jobs API as a FastAPI app."""

# FastAPI reads the annotations of the routes defined inside `create_app`, so they
# must be evaluated where they are written: no `from __future__ import annotations`.

import base64
import binascii
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Annotated, Any, Final

import anyio
import orjson
from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from polling._types import JobStatus
from polling._wire import WIRE_STATUS

from . import _models as m
from ._errors import (
    ApiError,
    Gone,
    InvalidRequest,
    MalformedRequest,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    UriTooLong,
)
from ._executors import Executor, LocalExecutor
from ._guard import Guard, Keyring, error_body
from ._service import JobService
from ._settings import ExecutorKind, Settings
from ._store import JOB_ID_LENGTH, JobRow, NewJob
from .forecast import ForecastRequest, ModelName

logger = logging.getLogger(__name__)

API_VERSION: Final = 1
FEATURES: Final = (
    "batch_results",
    "batch_status",
    "batch_submit",
    "feed",
    "idempotency",
    "wait",
)
ROUTES: Final = {
    "submit": "POST /forecast-jobs",
    "batch_submit": "POST /forecast-jobs/batch",
    "get": "GET /forecast-jobs/{job_id}",
    "batch_status": "POST /forecast-jobs/batch-status",
    "batch_status_get": "GET /forecast-jobs/batch-status",
    "batch_results": "POST /forecast-jobs/batch-results",
    "wait": "POST /forecast-jobs/batch-status",
    "feed": "GET /forecast-jobs/feed",
    "capabilities": "GET /capabilities",
    "health": "GET /health",
}
_CURSOR_PREFIX: Final = "pf1:"

# The published `GET /forecast-jobs/batch-status` form knows four words only.
_PUBLISHED_BATCH_WORD: Final[dict[JobStatus, str]] = {
    JobStatus.PENDING: WIRE_STATUS[JobStatus.RUNNING],
    JobStatus.RUNNING: WIRE_STATUS[JobStatus.RUNNING],
    JobStatus.COMPLETED: WIRE_STATUS[JobStatus.COMPLETED],
    JobStatus.FAILED: WIRE_STATUS[JobStatus.FAILED],
    JobStatus.NOT_FOUND: WIRE_STATUS[JobStatus.NOT_FOUND],
    JobStatus.EXPIRED: WIRE_STATUS[JobStatus.NOT_FOUND],
}

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": m.ErrorAnswer}
    for status in (400, 401, 404, 405, 409, 413, 414, 422, 429)
}


class Json(JSONResponse):
    """A JSON answer rendered by orjson.

    orjson is several times faster than `json` on the thousand-entry maps of the
    batch routes.
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def encode_cursor(position: int) -> str:
    """The opaque feed cursor for a position in the completion order."""
    raw = f"{_CURSOR_PREFIX}{position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position an opaque feed cursor stands for.

    Raises:
        InvalidRequest: The cursor was not made by this server.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    number = raw.removeprefix(_CURSOR_PREFIX)
    digits = number.isascii() and number.isdigit()
    # At most 18 digits: the position is an SQLite integer (signed 64-bit).
    if not raw.startswith(_CURSOR_PREFIX) or not digits or len(number) > 18:
        raise InvalidRequest(f"after: {cursor!r} is not a cursor this server gave")
    return int(number)


def _canonical(request: ForecastRequest) -> str:
    return json.dumps(
        request.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
    )


def _entry(row: JobRow | None, *, with_result: bool) -> dict[str, Any]:
    if row is None:
        return {"status": WIRE_STATUS[JobStatus.NOT_FOUND]}

    entry: dict[str, Any] = {
        "status": WIRE_STATUS[row.status],
        "started_at": row.started_at,
        "completed_at": row.completed_at,
    }
    if row.error is not None:
        entry["error"] = row.error
    if with_result and row.status is JobStatus.COMPLETED:
        entry["result"] = row.result
    return entry


def _job_answer(row: JobRow) -> dict[str, Any]:
    return {
        "job_id": row.job_id,
        "submitted_at": row.submitted_at,
        **_entry(row, with_result=True),
    }


def _validation_message(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors[:3]:
        loc = list(error.get("loc", ()))
        if len(loc) > 1 and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        location = ".".join(str(p) for p in loc)
        message = error.get("msg", "invalid")
        parts.append(f"{location}: {message}" if location else message)
    more = len(errors) - 3
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _make_executor(settings: Settings) -> Executor:
    if settings.executor is ExecutorKind.MODAL:
        from ._modal import ModalExecutor

        return ModalExecutor.from_deployment()
    return LocalExecutor(settings.workers)


def capabilities(settings: Settings) -> dict[str, Any]:
    """The capability document the server answers at `GET /capabilities`."""
    limit = settings.batch_limit
    # The GET form is bound by the URL length first: each id costs `job_ids=`, the
    # id and a separator.
    per_id = len("job_ids=") + JOB_ID_LENGTH + 1
    room = settings.max_url_length - len("/forecast-jobs/batch-status?") + 1
    return {
        "api_version": API_VERSION,
        "features": list(FEATURES),
        "routes": dict(ROUTES),
        "limits": {
            "batch_submit_max": limit,
            "batch_status_max": limit,
            "batch_status_get_max": max(1, min(limit, room // per_id)),
            "batch_results_max": limit,
            "feed_page_max": limit,
            "max_url_length": settings.max_url_length,
            "max_body_bytes": settings.max_body_bytes,
            "max_series_length": settings.max_series_length,
            "max_series_per_request": settings.max_series_per_request,
            "max_horizon": settings.max_horizon,
        },
        "rate_limit": {
            "requests": settings.rate_limit_per_minute,
            "per_seconds": 60,
            "per_second": round(settings.rate_limit_per_minute / 60, 3),
            "burst": settings.rate_limit_burst,
            "burst_per_seconds": 1,
            "scope": "api_key",
        },
        "wait": {"max_seconds": settings.max_wait},
        "feed": {
            "max_wait_seconds": settings.max_wait,
            "linger_seconds": settings.feed_linger,
            "max_linger_seconds": settings.max_wait,
            "page_max": limit,
        },
        "retention_seconds": settings.retention,
        "idempotency": {
            "header": "Idempotency-Key",
            "routes": ["POST /forecast-jobs", "POST /forecast-jobs/batch"],
        },
        "models": [name.value for name in ModelName],
        "statuses": sorted(set(WIRE_STATUS.values())),
    }


def create_app(settings: Settings, *, executor: Executor | None = None) -> FastAPI:
    """The forecast-jobs API.

    Args:
        settings: Limits, keys, the store's file, and which executor to use.
        executor: An executor to use instead of the one `settings.executor` names;
            the seam for tests and for custom backends.

    Returns:
        The app. Its lifespan runs the dispatcher; without it, jobs are accepted and
        stored but not run.
    """
    service = JobService(settings, executor or _make_executor(settings))
    keyring = Keyring(settings.api_key_hashes)
    bearer = HTTPBearer(auto_error=False, description="An API key as a bearer token.")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            await tg.start(service.run)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()

    app = FastAPI(
        default_response_class=Json,
        title="pollstack forecast jobs",
        version=str(API_VERSION),
        lifespan=lifespan,
        responses=_ERRORS,
    )
    app.state.service = service
    app.add_middleware(Guard, settings=settings, keyring=keyring)

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> Json:
        return Json(error_body(exc), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Json:
        errors = exc.errors()
        error: ApiError
        if any(e.get("type") == "json_invalid" for e in errors):
            error = MalformedRequest("the body is not valid JSON")
        else:
            error = InvalidRequest(_validation_message(errors))
        return Json(error_body(error), error.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Json:
        error: ApiError
        if exc.status_code == 404:
            error = NotFound(f"no route {request.url.path}")
        elif exc.status_code == 405:
            error = MethodNotAllowed(f"{request.method} is not allowed here")
        else:
            body = {"error": {"code": f"http_{exc.status_code}", "message": exc.detail}}
            return Json(body, exc.status_code, headers=exc.headers)
        return Json(error_body(error), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> Json:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {"error": {"code": "internal_error", "message": "internal server error"}}
        return Json(body, 500)

    async def owner(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        if credentials is None:
            raise NotAuthenticated(
                "missing bearer token: send Authorization: Bearer <key>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        found = keyring.owner_of(f"Bearer {credentials.credentials}")
        if found is None:
            raise NotAuthenticated(
                "unknown API key", headers={"WWW-Authenticate": "Bearer"}
            )
        return found

    Owner = Annotated[str, Depends(owner)]
    IdempotencyKey = Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ]

    def check_limits(request: ForecastRequest, where: str = "") -> None:
        if request.horizon > settings.max_horizon:
            raise InvalidRequest(
                f"{where}horizon: at most {settings.max_horizon}, got {request.horizon}"
            )
        if len(request.series) > settings.max_series_per_request:
            raise InvalidRequest(
                f"{where}series: at most {settings.max_series_per_request} series"
                " per request"
            )
        seen: set[str] = set()
        for i, series in enumerate(request.series):
            if len(series.values) > settings.max_series_length:
                raise InvalidRequest(
                    f"{where}series.{i}.values: at most "
                    f"{settings.max_series_length} values"
                )
            if series.unique_id in seen:
                raise InvalidRequest(
                    f"{where}series.{i}.unique_id: {series.unique_id!r} appears twice"
                )
            seen.add(series.unique_id)
        if request.season_length is not None and (
            request.season_length > settings.max_series_length
        ):
            raise InvalidRequest(
                f"{where}season_length: at most {settings.max_series_length}"
            )

    def check_count(count: int, what: str) -> None:
        if count > settings.batch_limit:
            raise InvalidRequest(
                f"{what}: at most {settings.batch_limit} per request, got {count}"
            )

    def check_wait(wait: float) -> None:
        if wait > settings.max_wait:
            raise InvalidRequest(f"wait: at most {settings.max_wait} s, got {wait}")

    @app.get("/health", response_model=m.HealthAnswer, tags=["meta"])
    async def health() -> Json:
        """The server is up and answering."""
        return Json({"status": "ok"})

    @app.get("/capabilities", response_model=m.CapabilitiesAnswer, tags=["meta"])
    async def get_capabilities() -> Json:
        """Limits, batch sizes, the rate limit and the features of this server."""
        return Json(capabilities(settings))

    @app.post(
        "/forecast-jobs", status_code=202, response_model=m.SubmitAnswer, tags=["jobs"]
    )
    async def submit(
        request: ForecastRequest, who: Owner, idempotency_key: IdempotencyKey = None
    ) -> Json:
        """Submit one forecast job.

        The same `Idempotency-Key` from the same key returns the same job.
        """
        check_limits(request)
        text = _canonical(request)
        job = NewJob(text, hashlib.sha256(text.encode()).hexdigest(), idempotency_key)
        (accepted,) = await service.submit(who, [job])
        return Json(
            {
                "job_id": accepted.job_id,
                "status": WIRE_STATUS[accepted.status],
                "submitted_at": accepted.submitted_at,
            },
            202,
            headers={"Location": f"/forecast-jobs/{accepted.job_id}"},
        )

    @app.post(
        "/forecast-jobs/batch",
        status_code=202,
        response_model=m.BatchSubmitAnswer,
        tags=["jobs"],
    )
    async def submit_batch(
        body: m.BatchSubmitBody, who: Owner, idempotency_key: IdempotencyKey = None
    ) -> Json:
        """Submit many forecast jobs at once; their ids come back in order.

        An `Idempotency-Key` covers the whole batch: sent again with the same
        requests it returns the same ids.
        """
        check_count(len(body.requests), "requests")
        for i, request in enumerate(body.requests):
            check_limits(request, f"requests.{i}.")
        texts = [_canonical(r) for r in body.requests]
        batch_hash = hashlib.sha256("\n".join(texts).encode()).hexdigest()
        jobs = [
            NewJob(
                text,
                f"{batch_hash}:{i}",
                None if idempotency_key is None else f"{idempotency_key}#{i}",
            )
            for i, text in enumerate(texts)
        ]
        accepted = await service.submit(who, jobs)
        return Json({"job_ids": [a.job_id for a in accepted]}, 202)

    @app.get(
        "/forecast-jobs/batch-status",
        response_model=dict[str, str],
        tags=["status"],
    )
    async def batch_status_get(
        who: Owner, job_ids: Annotated[list[m.JobIdText], Query(min_length=1)]
    ) -> Json:
        """The published form: each id to one of four words.

        The words are `completed`, `in_progress`, `not_found` and `error`. Queued jobs
        read `in_progress` and expired ones `not_found`, the nearest of
        the four words older clients know.
        """
        if len(job_ids) > settings.batch_limit:
            raise UriTooLong(
                f"job_ids: at most {settings.batch_limit} ids per query, "
                f"got {len(job_ids)}; use POST /forecast-jobs/batch-status"
            )
        rows = await service.statuses(who, job_ids, with_results=False)
        return Json(
            {
                job_id: _PUBLISHED_BATCH_WORD[
                    rows[job_id].status if job_id in rows else JobStatus.NOT_FOUND
                ]
                for job_id in job_ids
            }
        )

    @app.post(
        "/forecast-jobs/batch-status",
        response_model=m.BatchStatusAnswer,
        tags=["status"],
    )
    async def batch_status_post(body: m.BatchStatusBody, who: Owner) -> Json:
        """The status of many jobs, with completion times, optionally results.

        With `wait` > 0 the answer is long-polled: it comes as soon as any of the
        jobs is (or becomes) different from what it was when the request arrived, at
        once if any is already finished or unknown, else after `wait` seconds.
        """
        check_count(len(body.job_ids), "job_ids")
        check_wait(body.wait)
        rows = await service.wait_for_change(
            who, body.job_ids, wait=body.wait, with_results=body.include_results
        )
        return _batch_answer(body.job_ids, rows, with_results=body.include_results)

    @app.post(
        "/forecast-jobs/batch-results",
        response_model=m.BatchStatusAnswer,
        tags=["status"],
    )
    async def batch_results(body: m.BatchResultsBody, who: Owner) -> Json:
        """The results of many jobs: batch status with `include_results` set."""
        check_count(len(body.job_ids), "job_ids")
        rows = await service.statuses(who, body.job_ids, with_results=True)
        return _batch_answer(body.job_ids, rows, with_results=True)

    @app.get("/forecast-jobs/feed", response_model=m.FeedAnswer, tags=["status"])
    async def feed(
        who: Owner,
        after: Annotated[str | None, Query(max_length=100)] = None,
        since: Annotated[float | None, Query(allow_inf_nan=False)] = None,
        limit: Annotated[int | None, Query(ge=1)] = None,
        wait: Annotated[float, Query(ge=0, allow_inf_nan=False)] = 0.0,
        linger: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
    ) -> Json:
        """This key's jobs that finished after `after` (a cursor) or `since` (a time).

        With neither, the feed starts at the oldest retained completion. Long-polled
        up to `wait` seconds: answered at once when completions are waiting, else as
        soon as the page is full or `linger` seconds (by default `linger_seconds`)
        after the first new completion. A longer linger trades delay for fewer
        requests.
        """
        if after is not None and since is not None:
            raise InvalidRequest("give either after or since, not both")
        check_count(limit or 0, "limit")
        check_wait(wait)
        if linger is not None and linger > settings.max_wait:
            raise InvalidRequest(f"linger: at most {settings.max_wait} s, got {linger}")
        position = decode_cursor(after) if after is not None else None
        page = await service.feed(
            who,
            after=position,
            since=since,
            limit=limit or settings.batch_limit,
            wait=wait,
            linger=linger,
        )
        jobs = []
        for row in page.rows:
            item: dict[str, Any] = {
                "job_id": row.job_id,
                "status": WIRE_STATUS[row.status],
                "completed_at": row.completed_at,
            }
            if row.status is JobStatus.COMPLETED:
                item["result"] = row.result
            else:
                item["error"] = row.error
            jobs.append(item)
        return Json({"jobs": jobs, "cursor": encode_cursor(page.cursor)})

    @app.get(
        "/forecast-jobs/{job_id}",
        response_model=m.JobAnswer,
        responses={202: {"model": m.JobAnswer}, 410: {"model": m.JobAnswer}},
        tags=["jobs"],
    )
    async def get_job(job_id: Annotated[str, Path(max_length=100)], who: Owner) -> Json:
        """One job: 200 once finished, 202 while queued or running.

        404 for a job that does not exist or belongs to another key, 410 once its
        result has expired.
        """
        row = await service.statuses(who, [job_id], with_results=True)
        found = row.get(job_id)
        if found is None:
            raise NotFound(
                f"no job {job_id!r}",
                extra={"job_id": job_id, "status": WIRE_STATUS[JobStatus.NOT_FOUND]},
            )
        answer = _job_answer(found)
        if found.status is JobStatus.EXPIRED:
            raise Gone(
                f"the result of job {job_id!r} has expired",
                extra={k: v for k, v in answer.items() if k != "error"},
            )
        code = 200 if found.status.is_terminal else 202
        return Json(answer, code)

    return app


def _batch_answer(
    job_ids: Sequence[str], rows: Mapping[str, JobRow], *, with_results: bool
) -> Json:
    return Json(
        {
            "jobs": {
                job_id: _entry(rows.get(job_id), with_result=with_results)
                for job_id in job_ids
            }
        }
    )
