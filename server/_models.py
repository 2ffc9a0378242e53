"""The JSON shapes of the API, as pydantic models for validation and the schema.

Status fields carry the published words of `polling._wire.WIRE_STATUS`; the server
works with `JobStatus` and translates only when it writes an answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from .forecast import ForecastRequest

JobIdText = Annotated[str, Field(min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchSubmitBody(_Strict):
    """Many forecast requests in one submit."""

    requests: Annotated[list[ForecastRequest], Field(min_length=1)]


class BatchStatusBody(_Strict):
    """Ids whose status to report, optionally long-polled."""

    job_ids: Annotated[list[JobIdText], Field(min_length=1)]
    include_results: bool = False
    wait: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    """Seconds to wait for any of the jobs to change; 0 answers at once."""


class BatchResultsBody(_Strict):
    """Ids whose results to fetch."""

    job_ids: Annotated[list[JobIdText], Field(min_length=1)]


class ErrorDetail(BaseModel):
    """What went wrong: a stable code and a sentence for people."""

    code: str
    message: str


class ErrorAnswer(BaseModel):
    """The body of every 4xx answer."""

    error: ErrorDetail


class ForecastResult(BaseModel):
    """A completed job's result: per series id, one value per horizon step."""

    model: str
    horizon: int
    forecasts: dict[str, list[float]]


class SubmitAnswer(BaseModel):
    """An accepted job."""

    job_id: str
    status: str
    submitted_at: float


class BatchSubmitAnswer(BaseModel):
    """Accepted jobs, in the order of the requests."""

    job_ids: list[str]


class JobAnswer(BaseModel):
    """One job."""

    job_id: str
    status: str
    submitted_at: float | None = None
    started_at: float | None = None
    completed_at: float | None = None
    result: ForecastResult | None = None
    error: ErrorDetail | None = None


class BatchEntry(BaseModel):
    """One job in a batch-status or batch-results map."""

    status: str
    started_at: float | None = None
    completed_at: float | None = None
    result: ForecastResult | None = None
    error: ErrorDetail | None = None


class BatchStatusAnswer(BaseModel):
    """Job id to its entry; unknown and foreign ids have status `not_found`."""

    jobs: dict[str, BatchEntry]


class FeedItem(BaseModel):
    """One completion in the feed."""

    job_id: str
    status: str
    completed_at: float
    result: ForecastResult | None = None
    error: ErrorDetail | None = None


class FeedAnswer(BaseModel):
    """A page of completions, oldest first, and the cursor to ask after."""

    jobs: list[FeedItem]
    cursor: str


class HealthAnswer(BaseModel):
    """The server is up."""

    status: str


CapabilitiesAnswer = dict[str, Any]
