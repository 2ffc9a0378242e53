"""The forecast client: forecast requests in, their outcomes out, in input order."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import anyio
import attrs
import httpx

from ._api import Capabilities
from ._budget import Budget
from ._engine import Poller, _paced, _sole_polling_error
from ._errors import AuthError, RejectedError, RequestError, TransientError
from ._http import HttpJobAPI
from ._journal import Journal, Submission
from ._registry import strategy_from
from ._report import Report
from ._types import JobId, Outcome, OutcomeKind, RequestKind

log = logging.getLogger("polling")

_SUBMITTERS: Final = 8
"""Submit requests on their way at once."""


class ForecastClient:
    """Submits forecast requests to a forecast-jobs server and collects the results.

    With a journal, a run killed at any point and started again on the same
    journal and the same requests picks up where it stopped: it polls the jobs it
    knows and sends the submits whose answer it never recorded again with their
    idempotency key, so that no job is created twice. That needs a server that
    honours `Idempotency-Key` (it says `idempotency` in its capabilities); on one
    that does not, such a submit is not sent again and its requests end `unknown`.

    Args:
        url: The server's address, e.g. `http://127.0.0.1:8000`.
        api_key: Sent as `Authorization: Bearer <key>`.
        strategy: A strategy spec, e.g. `"stack"` or `"batch:wait=5"`.
        journal: The journal file; None runs without one.
        batch_size: The most requests in one submit; by default the server's batch
            limit, or 1 when it has no batch submit.
        deadline: Seconds the polling may take; then unfinished jobs time out.
        progress: Show progress bars; by default only on a terminal.
        client: An `httpx.AsyncClient` to use instead of one made here.
        transport: The transport of the client made here.
    """

    def __init__(
        self,
        url: str = "",
        *,
        api_key: str | None = None,
        strategy: str = "stack",
        journal: Path | str | None = None,
        batch_size: int | None = None,
        deadline: float | None = None,
        progress: bool | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        strategy_from(strategy)  # a bad spec fails here, before any request
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.url = url
        self.strategy = strategy
        self.journal = None if journal is None else Path(journal)
        self.batch_size = batch_size
        self.deadline = deadline
        self.progress = progress
        self._api_key = api_key
        self._client = client
        self._transport = transport
        self.report: Report | None = None
        """The report of the latest run, submits included."""

    def collect_sync(
        self, requests: Sequence[Mapping[str, Any]], *, backend: str = "asyncio"
    ) -> list[Outcome]:
        """`collect` for scripts and notebooks: runs its own event loop."""
        return anyio.run(self.collect, requests, backend=backend)

    async def collect(self, requests: Sequence[Mapping[str, Any]]) -> list[Outcome]:
        """Submit the requests and return one outcome per request, in input order.

        Raises:
            AuthError: The server refused the API key.
            ConfigError: The journal belongs to other requests.
        """
        requests = list(requests)
        journal = None
        if self.journal is not None:
            journal = Journal.open(
                self.journal, count=len(requests), digest=_digest(requests)
            )
        try:
            async with HttpJobAPI(
                self.url,
                api_key=self._api_key,
                client=self._client,
                transport=self._transport,
            ) as api:
                run = _Run(self, api, requests, journal)
                return await run.collect()
        finally:
            if journal is not None:
                journal.close()


class _Run:
    """One `ForecastClient.collect`: submits, journals, and hands ids to a poller."""

    def __init__(
        self,
        client: ForecastClient,
        api: HttpJobAPI,
        requests: list[Mapping[str, Any]],
        journal: Journal | None,
    ) -> None:
        self.client = client
        self.api = api
        self.requests = requests
        self.journal = journal
        self.outcomes: list[Outcome] = []
        self.budget = Budget(max_in_flight=_SUBMITTERS)
        self.created: list[tuple[int, JobId]] = []
        self.started = 0.0

    async def collect(self) -> list[Outcome]:
        self.started = anyio.current_time()
        caps = await self.api.connect()
        self.budget.rate = _paced(caps.rate_limit)
        poller = Poller(
            self.api,
            strategy_from(self.client.strategy),
            deadline=self.client.deadline,
            progress=self.client.progress,
        )
        todo, known = self._plan(caps)
        # Every submit is answered before polling starts: a poller started on
        # the first ids could read a feed page that began before the later ones.
        known += await self._submit_all(todo, caps)
        polled = await poller.collect_jobs([job_id for _, job_id in known])
        for outcome in polled:
            index = known[outcome.index][0]
            self.outcomes.append(attrs.evolve(outcome, index=index))
        self.client.report = self._report(poller.report)
        return sorted(self.outcomes, key=lambda outcome: outcome.index)

    def _plan(
        self, caps: Capabilities
    ) -> tuple[list[Submission], list[tuple[int, JobId]]]:
        """The submits to send and the jobs already known, from the journal."""
        known: list[tuple[int, JobId]] = []
        todo: list[Submission] = []
        covered: set[int] = set()
        if self.journal is not None:
            for submission in self.journal.submissions.values():
                covered.update(submission.indices)
                job_ids = self.journal.created.get(submission.key)
                if job_ids is not None:
                    known += zip(submission.indices, job_ids, strict=True)
                elif caps.idempotent_submit:
                    todo.append(submission)
                else:
                    self._unknown(submission.indices)
            if known or todo:
                log.info(
                    "journal: %d jobs known, %d submits to send again",
                    len(known),
                    len(todo),
                )

        fresh = [i for i in range(len(self.requests)) if i not in covered]
        size = self.client.batch_size or caps.batch_submit or 1
        if not caps.batch_submit:
            size = 1
        rng = random.Random()
        for start in range(0, len(fresh), size):
            indices = tuple(fresh[start : start + size])
            key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            todo.append(Submission(key, indices, batch=size > 1))
        return todo, known

    def _unknown(self, indices: Sequence[int]) -> None:
        message = (
            "submitted by an earlier run whose answer was never journaled, and the "
            "server does not honour idempotency keys: not sent again"
        )
        for index in indices:
            self.outcomes.append(
                Outcome(index, None, OutcomeKind.UNKNOWN, error=message)
            )

    async def _submit_all(
        self, todo: list[Submission], caps: Capabilities
    ) -> list[tuple[int, JobId]]:
        """Send the submits, a few at once; the positions and ids they made."""
        pending = iter(todo)

        async def submitter() -> None:
            for submission in pending:
                await self._submit(submission, caps.idempotent_submit)

        try:
            async with anyio.create_task_group() as group:
                for _ in range(_SUBMITTERS):
                    group.start_soon(submitter)
        except BaseExceptionGroup as group_error:
            raise _sole_polling_error(group_error) from None
        return self.created

    async def _submit(self, submission: Submission, idempotent: bool) -> None:
        key = submission.key if idempotent else None
        requests = [self.requests[i] for i in submission.indices]
        if self.journal is not None:
            self.journal.submitting(submission)
        try:
            if submission.batch:
                job_ids = await self.budget.call(
                    RequestKind.BATCH_SUBMIT,
                    lambda: self.api.submit_many(
                        requests, idempotency_keys=[key] * len(requests)
                    ),
                    retry_sent=idempotent,
                )
            else:
                [request] = requests
                job_id = await self.budget.call(
                    RequestKind.SUBMIT,
                    lambda: self.api.submit(request, idempotency_key=key),
                    retry_sent=idempotent,
                )
                job_ids = [job_id]
        except AuthError:
            raise
        except RequestError as error:
            if isinstance(error, RejectedError) and len(submission.indices) > 1:
                await self._split(submission, idempotent, error)
                return
            unsure = isinstance(error, TransientError) and error.sent
            kind = OutcomeKind.UNKNOWN if unsure else OutcomeKind.FAILED
            log.warning("submit of %d requests failed: %s", len(requests), error)
            for index in submission.indices:
                self.outcomes.append(Outcome(index, None, kind, error=str(error)))
            return

        if len(job_ids) != len(requests):
            message = f"a submit of {len(requests)} returned {len(job_ids)} ids"
            for index in submission.indices:
                self.outcomes.append(
                    Outcome(index, None, OutcomeKind.UNKNOWN, error=message)
                )
            return
        if self.journal is not None:
            self.journal.submitted(submission.key, job_ids)
        for index, job_id in zip(submission.indices, job_ids, strict=True):
            self.created.append((index, job_id))

    async def _split(
        self, submission: Submission, idempotent: bool, error: RejectedError
    ) -> None:
        """Send a refused batch again in halves, until the refused requests stand
        alone: one bad request must not fail the others. The server created
        nothing of the refused batch."""
        log.debug("batch of %d refused, halving: %s", len(submission.indices), error)
        if self.journal is not None:
            self.journal.refused(submission.key)
        half = len(submission.indices) // 2
        for part in (submission.indices[:half], submission.indices[half:]):
            key = str(uuid.uuid4())
            await self._submit(Submission(key, part, batch=len(part) > 1), idempotent)

    def _report(self, polled: Report | None) -> Report:
        """The poller's report with the submits added."""
        assert polled is not None  # collect_jobs always leaves its report
        requests = Counter(self.budget.sent)
        requests.update(polled.requests)
        return attrs.evolve(
            polled,
            requests=dict(requests),
            retries=polled.retries + self.budget.retries,
            rejected=polled.rejected + self.budget.rejected,
            outcomes=dict(Counter(outcome.kind for outcome in self.outcomes)),
            wall_time=anyio.current_time() - self.started,
        )


def _digest(requests: Sequence[Mapping[str, Any]]) -> str:
    """A digest of the requests, the same for the same requests in the same order."""
    hasher = hashlib.sha256()
    for request in requests:
        hasher.update(json.dumps(request, sort_keys=True).encode())
        hasher.update(b"\n")
    return hasher.hexdigest()
