"""The `JobAPI` protocol: what the poller and the strategies talk to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from ._errors import ConfigError
from ._types import JobId, JobState, RequestKind


def _positive_or_none(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not value > 0:
        raise ConfigError(f"{attribute.name} must be positive, got {value!r}")


@attrs.frozen
class RateLimit:
    """A server's declared rate limit: a sustained rate and a burst."""

    per_second: float = attrs.field(validator=_positive_or_none)
    burst: int = attrs.field(default=1, validator=_positive_or_none)


@attrs.frozen
class Capabilities:
    """What a job API can do beyond single submit and get, with its limits.

    A capability is present when its limit is set. `None` means absent, or not yet
    known: see `JobAPI.capabilities`.
    """

    batch_submit: int | None = attrs.field(default=None, validator=_positive_or_none)
    """The most requests one batch submit takes."""
    batch_status: int | None = attrs.field(default=None, validator=_positive_or_none)
    """The most ids one batch status request takes."""
    batch_results: int | None = attrs.field(default=None, validator=_positive_or_none)
    """The most ids one batch results request takes."""
    wait: float | None = attrs.field(default=None, validator=_positive_or_none)
    """The longest long-poll wait the API holds a request open, seconds."""
    feed: int | None = attrs.field(default=None, validator=_positive_or_none)
    """The most jobs one page of the completion feed holds."""
    feed_wait: float | None = attrs.field(default=None, validator=_positive_or_none)
    """The longest a feed request is held open waiting for completions, seconds."""
    rate_limit: RateLimit | None = None
    idempotent_submit: bool = False
    """Whether the API honours an `Idempotency-Key`, so a submit may be retried."""

    def has(self, kind: RequestKind) -> bool:
        """Whether requests of this kind are available."""
        limit = {
            RequestKind.SUBMIT: 1,
            RequestKind.GET: 1,
            RequestKind.BATCH_SUBMIT: self.batch_submit,
            RequestKind.BATCH_STATUS: self.batch_status,
            RequestKind.BATCH_RESULTS: self.batch_results,
            RequestKind.WAIT: self.wait,
            RequestKind.FEED: self.feed,
        }[kind]
        return limit is not None

    def without(self, kind: RequestKind) -> Capabilities:
        """The same capabilities less one kind of request, once it proved absent."""
        if kind is RequestKind.BATCH_SUBMIT:
            return attrs.evolve(self, batch_submit=None)
        if kind is RequestKind.BATCH_STATUS:
            return attrs.evolve(self, batch_status=None)
        if kind is RequestKind.BATCH_RESULTS:
            return attrs.evolve(self, batch_results=None)
        if kind is RequestKind.WAIT:
            return attrs.evolve(self, wait=None)
        if kind is RequestKind.FEED:
            return attrs.evolve(self, feed=None, feed_wait=None)
        raise ConfigError(f"{kind.value} is not optional and cannot be removed")


@attrs.frozen
class FeedPage:
    """One page of the completion feed: finished jobs and where to resume."""

    jobs: tuple[JobState, ...]
    cursor: str | None


@runtime_checkable
class JobAPI(Protocol):
    """An asynchronous job API, as seen by the poller.

    Every API has `submit` and `get`. The batch calls, the long-poll `wait` and the
    completion `feed` are optional: `capabilities` declares which exist, and a call
    to one that does not raises `CapabilityMissing` (an HTTP API answering 404 or
    405). The poller remembers such an answer and never asks again.

    An API that must learn its capabilities before it can declare them (an HTTP
    API reading a capability document) may also have `async def connect()`: the
    poller awaits it before each run, then reads `capabilities`.

    Failures are raised as the exceptions of `polling` (`TransientError`,
    `RateLimited`, `AuthError`, `RejectedError`, `CapabilityMissing`); the request
    budget retries what can be retried.
    """

    @property
    def capabilities(self) -> Capabilities:
        """What this API declares it can do."""
        ...

    def clock(self) -> float:
        """The current time on the clock the API's timestamps are on."""
        ...

    async def submit(self, request: Any, *, idempotency_key: str | None) -> JobId:
        """Create one job and return its id."""
        ...

    async def get(self, job_id: JobId) -> JobState:
        """One job's state, with its result once it has completed."""
        ...

    async def submit_many(
        self, requests: Sequence[Any], *, idempotency_keys: Sequence[str | None]
    ) -> list[JobId]:
        """Create many jobs in one request; ids come back in input order."""
        ...

    async def status_many(
        self, job_ids: Sequence[JobId], *, wait: float | None = None
    ) -> dict[JobId, JobState]:
        """The states of many jobs, without results.

        With `wait`, the API holds the request open until one of the jobs changes
        or `wait` seconds pass (the long-poll wait).
        """
        ...

    async def results_many(self, job_ids: Sequence[JobId]) -> dict[JobId, JobState]:
        """The states of many jobs, with the results of the completed ones."""
        ...

    async def feed(
        self,
        cursor: str | None,
        *,
        limit: int,
        wait: float,
        since: float | None = None,
    ) -> FeedPage:
        """The caller's jobs that finished after `cursor`, with their results.

        Without a cursor, the feed starts at its oldest completion, or at the
        first after `since` (the API's clock) when that is given: a run that
        submits its own jobs need not read through every older one.
        """
        ...
