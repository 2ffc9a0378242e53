"""The `JobAPI` of the reference forecast-jobs server, over HTTP with httpx.

Every answer is translated here, once: wire words to `JobStatus`, HTTP failures to
the exceptions of `polling`. Nothing past this module sees a status code.
"""

from __future__ import annotations

import logging
import math
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self

import anyio
import httpx

from ._api import Capabilities, FeedPage, RateLimit
from ._budget import retry_after_seconds
from ._errors import (
    AuthError,
    CapabilityMissing,
    ProtocolError,
    RateLimited,
    RejectedError,
    TransientError,
)
from ._types import JobId, JobState, JobStatus, RequestKind
from ._wire import status_from_wire

log = logging.getLogger("polling")

_TIMEOUT: Final = 30.0
"""Seconds a request may take beyond any long-poll wait it asks for."""

_GET_STATUS_PATH: Final = "/forecast-jobs/batch-status"

_DEFAULT_URL_LENGTH: Final = 8000
"""The reference server's bound on path and query, when it does not declare one."""


class HttpJobAPI:
    """The reference forecast-jobs API, for the poller and the strategies.

    `connect` reads the server's capability document; a `Poller` awaits it before
    each run, and every call awaits it on first use. Use it as an async context
    manager: a client made here is closed on exit, a client passed in is left to
    its owner.

    A job this client submitted may not be visible for a moment (a server behind a
    load balancer, a store replica): a `not_found` within `grace` seconds of its
    submit reads as still pending; later it is `not_found`. Once the job has been
    seen (queued, running or finished), a `not_found` means it is gone, and is
    reported at once.

    Args:
        base_url: The server's address, e.g. `http://127.0.0.1:8000`.
        api_key: Sent as `Authorization: Bearer <key>` by a client made here.
        client: An `httpx.AsyncClient` to use as it is (its base URL and auth
            included) instead of one made here.
        transport: The transport of the client made here, e.g. an
            `httpx.ASGITransport` or an `httpx.MockTransport`.
        capabilities: Use these instead of reading the capability document.
        grace: Seconds after a submit during which `not_found` means pending.
        timeout: Seconds a request may take beyond its long-poll wait.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        api_key: str | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        capabilities: Capabilities | None = None,
        grace: float = 5.0,
        timeout: float = _TIMEOUT,
    ) -> None:
        if client is None:
            headers = {"User-Agent": "pollstack"}
            if api_key is not None:
                headers["Authorization"] = f"Bearer {api_key}"
            client = httpx.AsyncClient(
                base_url=base_url,
                headers=headers,
                transport=transport,
                timeout=timeout,
            )
            self._owns_client = True
        else:
            self._owns_client = False
        self._client = client
        self._capabilities = capabilities or Capabilities()
        self._connected = capabilities is not None
        self._grace = grace
        self._timeout = timeout
        self._submitted: OrderedDict[JobId, float] = OrderedDict()
        self.get_status_max: int | None = None
        """The most ids one `status_many_get` request carries; learned on 414."""
        self.max_url_length = _DEFAULT_URL_LENGTH
        """The longest path and query the server takes, bytes."""
        self.on_cool_down: Callable[[float], None] | None = None
        """Called with seconds when an answer says the rate-limit quota is spent
        (`RateLimit-Remaining: 0` and `RateLimit-Reset`); a `Poller` sets it to
        hold every request of its run back that long."""

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._owns_client:
            await self._client.aclose()

    @property
    def capabilities(self) -> Capabilities:
        """What the server declared; nothing beyond single calls before `connect`."""
        return self._capabilities

    def clock(self) -> float:
        """Wall-clock unix seconds, the clock of the server's timestamps."""
        return time.time()

    async def connect(self) -> Capabilities:
        """Read the capability document, once; later calls return what it said.

        A server without `GET /capabilities` is taken to have single calls only.
        """
        if self._connected:
            return self._capabilities
        try:
            document = await self._json("GET", "/capabilities", kind=None)
        except CapabilityMissing:
            log.warning("the server has no capability document; using single calls")
            document = {}
        self._capabilities = _capabilities_of(document)
        limits = _mapping(document.get("limits", {}))
        self.get_status_max = _int_or_none(limits.get("batch_status_get_max"))
        self.max_url_length = (
            _int_or_none(limits.get("max_url_length")) or _DEFAULT_URL_LENGTH
        )
        self._connected = True
        return self._capabilities

    async def submit(self, request: Any, *, idempotency_key: str | None) -> JobId:
        """Create one job (`POST /forecast-jobs`) and return its id."""
        await self.connect()
        body = await self._json(
            "POST",
            "/forecast-jobs",
            kind=RequestKind.SUBMIT,
            json=request,
            headers=_idempotency(idempotency_key),
        )
        job_id = JobId(_text(body, "job_id"))
        self._note_submitted([job_id])
        return job_id

    async def submit_many(
        self, requests: Sequence[Any], *, idempotency_keys: Sequence[str | None]
    ) -> list[JobId]:
        """Create many jobs in one `POST /forecast-jobs/batch`.

        The server takes one key for the whole batch: the first key given stands
        for it, so that a resent batch returns the same ids.
        """
        await self.connect()
        key = next((k for k in idempotency_keys if k is not None), None)
        body = await self._json(
            "POST",
            "/forecast-jobs/batch",
            kind=RequestKind.BATCH_SUBMIT,
            json={"requests": list(requests)},
            headers=_idempotency(key),
            optional=True,
        )
        ids = body.get("job_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ProtocolError(f"batch submit answered without job_ids: {body!r}")
        job_ids = [JobId(i) for i in ids]
        self._note_submitted(job_ids)
        return job_ids

    async def get(self, job_id: JobId) -> JobState:
        """One job's state (`GET /forecast-jobs/{id}`), with its result if done."""
        await self.connect()
        path = f"/forecast-jobs/{urllib.parse.quote(job_id, safe='')}"
        response = await self._send("GET", path, kind=RequestKind.GET, job_id=job_id)
        if response.status_code == 404:
            return self._not_found(job_id)
        if response.status_code == 410:
            self._seen(job_id)
            body = _body(response)
            return JobState(
                job_id,
                JobStatus.EXPIRED,
                started_at=_time(body, "started_at"),
                completed_at=_time(body, "completed_at"),
            )
        self._raise_for(response, RequestKind.GET, job_id)
        return self._state(job_id, _body(response), with_result=True)

    async def status_many(
        self, job_ids: Sequence[JobId], *, wait: float | None = None
    ) -> dict[JobId, JobState]:
        """States of many jobs (`POST /forecast-jobs/batch-status`), no results.

        With `wait`, the long-poll: the server answers when one of the jobs changes
        or after `wait` seconds. Ids the server leaves out are left out here too.
        """
        await self.connect()
        kind = RequestKind.BATCH_STATUS if not wait else RequestKind.WAIT
        payload = {"job_ids": list(job_ids), "include_results": False}
        payload["wait"] = wait or 0
        body = await self._json(
            "POST",
            "/forecast-jobs/batch-status",
            kind=kind,
            json=payload,
            timeout=self._timeout + (wait or 0.0),
            optional=True,
        )
        return self._states(body, with_result=False)

    async def results_many(self, job_ids: Sequence[JobId]) -> dict[JobId, JobState]:
        """States of many jobs with the completed ones' results."""
        await self.connect()
        body = await self._json(
            "POST",
            "/forecast-jobs/batch-results",
            kind=RequestKind.BATCH_RESULTS,
            json={"job_ids": list(job_ids)},
            optional=True,
        )
        return self._states(body, with_result=True)

    async def feed(
        self,
        cursor: str | None,
        *,
        limit: int,
        wait: float,
        since: float | None = None,
    ) -> FeedPage:
        """One page of the completion feed (`GET /forecast-jobs/feed`)."""
        await self.connect()
        params: dict[str, str | int | float] = {"limit": limit, "wait": wait}
        if cursor is not None:
            params["after"] = cursor
        elif since is not None:
            params["since"] = since
        body = await self._json(
            "GET",
            "/forecast-jobs/feed",
            kind=RequestKind.FEED,
            params=params,
            timeout=self._timeout + wait,
            optional=True,
        )
        items = body.get("jobs")
        if not isinstance(items, list):
            raise ProtocolError(f"feed answered without jobs: {body!r}")
        jobs = []
        for item in items:
            entry = _mapping(item)
            job_id = JobId(_text(entry, "job_id"))
            jobs.append(self._state(job_id, entry, with_result=True))
        next_cursor = body.get("cursor")
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise ProtocolError(f"feed answered a cursor that is not text: {body!r}")
        return FeedPage(tuple(jobs), next_cursor)

    async def status_many_get(self, job_ids: Sequence[JobId]) -> dict[JobId, JobState]:
        """States of many jobs by the published `GET /forecast-jobs/batch-status`.

        The ids are split into as many requests as the server's URL length and id
        count allow. A `414` splits the refused request in two and keeps the
        smaller size for every later call. The published form knows four words:
        queued jobs read as running and expired ones as `not_found`.

        Raises:
            ProtocolError: An answer left out an id it was asked about: asking
                again would get the same answer, and a caller would wait forever.
        """
        await self.connect()
        states: dict[JobId, JobState] = {}
        todo = list(self._url_chunks(job_ids))
        while todo:
            chunk = todo.pop()
            response = await self._send(
                "GET",
                _GET_STATUS_PATH,
                kind=RequestKind.BATCH_STATUS,
                params=[("job_ids", job_id) for job_id in chunk],
            )
            if response.status_code == 414 and len(chunk) > 1:
                half = len(chunk) // 2
                self.get_status_max = min(half, self.get_status_max or half)
                log.warning("414 for %d ids in one URL; sending %d", len(chunk), half)
                todo += [chunk[half:], chunk[:half]]
                continue
            self._raise_for(response, RequestKind.BATCH_STATUS, optional=True)
            body = _body(response)
            left_out = [job_id for job_id in chunk if job_id not in body]
            if left_out:
                raise ProtocolError(
                    f"the batch status answer left out {len(left_out)} of the "
                    f"{len(chunk)} ids asked for, first {left_out[0]!r}"
                )
            for job_id, word in body.items():
                if not isinstance(word, str):
                    raise ProtocolError(f"status of {job_id!r} is not a word: {word!r}")
                states[JobId(job_id)] = self._state(
                    JobId(job_id), {"status": word}, with_result=False
                )
        return states

    def _url_chunks(self, job_ids: Sequence[JobId]) -> Iterator[list[JobId]]:
        """Consecutive runs of ids that each fit one URL and the id count."""
        most = self.get_status_max or self._capabilities.batch_status or math.inf
        room = self.max_url_length - len(
            self._client.build_request("GET", _GET_STATUS_PATH).url.raw_path
        )
        chunk: list[JobId] = []
        used = 0
        for job_id in job_ids:
            # `?` or `&`, then `job_ids=` and the encoded id.
            cost = 1 + len("job_ids=") + len(urllib.parse.quote(job_id, safe=""))
            if chunk and (len(chunk) >= most or used + cost > room):
                yield chunk
                chunk, used = [], 0
            chunk.append(job_id)
            used += cost
        if chunk:
            yield chunk

    def _note_submitted(self, job_ids: Sequence[JobId]) -> None:
        now = anyio.current_time()
        for job_id in job_ids:
            self._submitted[job_id] = now
            self._submitted.move_to_end(job_id)
        # Insertion order is submit order: the expired entries are at the front.
        while self._submitted:
            job_id, at = next(iter(self._submitted.items()))
            if now - at < self._grace:
                break
            del self._submitted[job_id]

    def _seen(self, job_id: JobId) -> None:
        """The job exists: from now on a `not_found` for it is no delay."""
        self._submitted.pop(job_id, None)

    def _not_found(self, job_id: JobId) -> JobState:
        at = self._submitted.get(job_id)
        if at is not None and anyio.current_time() - at < self._grace:
            return JobState(job_id, JobStatus.PENDING)
        return JobState(job_id, JobStatus.NOT_FOUND)

    def _states(
        self, body: Mapping[str, Any], *, with_result: bool
    ) -> dict[JobId, JobState]:
        jobs = body.get("jobs")
        if not isinstance(jobs, dict):
            raise ProtocolError(f"batch answer without a jobs map: {body!r}")
        return {
            JobId(job_id): self._state(JobId(job_id), _mapping(entry), with_result)
            for job_id, entry in jobs.items()
        }

    def _state(
        self, job_id: JobId, entry: Mapping[str, Any], with_result: bool
    ) -> JobState:
        word = entry.get("status")
        if not isinstance(word, str):
            raise ProtocolError(f"job {job_id!r} answered without a status: {entry!r}")
        status = status_from_wire(word)
        if status is JobStatus.NOT_FOUND:
            return self._not_found(job_id)
        self._seen(job_id)
        has_result = with_result and status is JobStatus.COMPLETED and "result" in entry
        return JobState(
            job_id,
            status,
            result=entry.get("result") if has_result else None,
            error=_error_text(entry.get("error")),
            started_at=_time(entry, "started_at"),
            completed_at=_time(entry, "completed_at"),
            has_result=has_result,
        )

    async def _json(
        self,
        method: str,
        path: str,
        *,
        kind: RequestKind | None,
        optional: bool = False,
        **options: Any,
    ) -> dict[str, Any]:
        response = await self._send(method, path, kind=kind, **options)
        self._raise_for(response, kind, optional=optional or kind is None)
        return _body(response)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        kind: RequestKind | None,
        job_id: JobId | None = None,
        **options: Any,
    ) -> httpx.Response:
        """Send one request; transport failures become `TransientError`."""
        try:
            response = await self._client.request(method, path, **options)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # The request never left: even a submit without a key may be resent.
            raise TransientError(
                f"{method} {path}: {error!r}", sent=False, kind=kind, job_id=job_id
            ) from error
        except httpx.TransportError as error:
            raise TransientError(
                f"{method} {path}: {error!r}", sent=True, kind=kind, job_id=job_id
            ) from error
        log.debug("%s %s: %d", method, path, response.status_code)
        self._note_quota(response)
        return response

    def _note_quota(self, response: httpx.Response) -> None:
        """Pass on a spent quota, so that no request runs into the 429."""
        remaining = _header_count(response, "RateLimit-Remaining")
        reset = _header_count(response, "RateLimit-Reset")
        if self.on_cool_down is not None and remaining == 0 and reset:
            self.on_cool_down(float(reset))

    def _raise_for(
        self,
        response: httpx.Response,
        kind: RequestKind | None,
        job_id: JobId | None = None,
        *,
        optional: bool = False,
    ) -> None:
        """Raise the error an answer stands for; return for a success."""
        code = response.status_code
        if code < 400:
            return
        where = f"{response.request.method} {response.request.url.path}"
        message = f"{where}: {code} {_server_message(response)}"
        if code in (401, 403):
            raise AuthError(message)
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if code == 429:
            raise RateLimited(message, retry_after=retry_after, kind=kind)
        if code >= 500:
            # 502, 503 and 504 above all (a proxy, a restart); the reference server
            # never answers a 500 to what a client sent, so one is a passing fault.
            raise TransientError(
                message, sent=True, kind=kind, job_id=job_id, retry_after=retry_after
            )
        if optional and code in (404, 405):
            raise CapabilityMissing(message, kind=kind, job_id=job_id)
        raise RejectedError(message, kind=kind, job_id=job_id)


def _capabilities_of(document: Mapping[str, Any]) -> Capabilities:
    """The capabilities a capability document declares."""
    features = set(document.get("features", ()))
    limits = _mapping(document.get("limits", {}))
    feed = _mapping(document.get("feed", {}))
    wait = _mapping(document.get("wait", {}))
    rate = _mapping(document.get("rate_limit", {}))

    def limit(feature: str, key: str) -> int | None:
        return _int_or_none(limits.get(key)) if feature in features else None

    def seconds(feature: str, section: Mapping[str, Any], key: str) -> float | None:
        return _float_or_none(section.get(key)) if feature in features else None

    per_second = rate.get("per_second")
    return Capabilities(
        batch_submit=limit("batch_submit", "batch_submit_max"),
        batch_status=limit("batch_status", "batch_status_max"),
        batch_results=limit("batch_results", "batch_results_max"),
        wait=seconds("wait", wait, "max_seconds"),
        feed=_int_or_none(feed.get("page_max")) if "feed" in features else None,
        feed_wait=seconds("feed", feed, "max_wait_seconds"),
        rate_limit=(
            RateLimit(float(per_second), int(rate.get("burst") or 1))
            if isinstance(per_second, int | float) and per_second > 0
            else None
        ),
        idempotent_submit="idempotency" in features,
    )


def _idempotency(key: str | None) -> dict[str, str]:
    return {} if key is None else {"Idempotency-Key": key}


def _body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object an answer carries."""
    try:
        body = response.json()
    except ValueError as error:
        raise ProtocolError(
            f"{response.request.url.path}: answer {response.status_code} is not JSON"
        ) from error
    if not isinstance(body, dict):
        raise ProtocolError(f"{response.request.url.path}: not a JSON object: {body!r}")
    return body


def _server_message(response: httpx.Response) -> str:
    """The server's own words for a refusal, or the start of its body."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return response.text[:200]
    text = _error_text(error)
    return text if text is not None else response.text[:200]


def _error_text(error: Any) -> str | None:
    """A job's or a request's error, `{"code", "message"}`, as one line."""
    if error is None:
        return None
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        return ": ".join(str(part) for part in (code, message) if part is not None)
    return str(error)


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(f"expected a JSON object, got {value!r}")
    return value


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"answer without {key}: {body!r}")
    return value


def _time(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise ProtocolError(f"{key} is not a time: {value!r}")
    return float(value)


def _header_count(response: httpx.Response, name: str) -> int | None:
    """A header holding a whole number of zero or more; None if absent or not."""
    value = response.headers.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None
