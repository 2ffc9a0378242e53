"""The request budget: the one place every request passes through.

It bounds requests in flight, paces them to a rate, holds every request back while
the API has asked for a pause, and retries transient failures with capped
exponential backoff and full jitter.

The pacing is written here rather than taken from a rate-limit library: those
(`limits` among them) answer "may I, now?" for a server, while a client needs "when
may I?" for many waiting callers at once, on whatever clock anyio runs on.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import attrs

from ._api import RateLimit
from ._errors import ConfigError, RateLimited, TransientError
from ._types import RequestKind
from ._validate import positive, positive_int

log = logging.getLogger("polling")

T = TypeVar("T")


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds, or None if unusable.

    Both forms of the header are understood: a number of seconds (`"120"`) and an
    HTTP date (`"Wed, 21 Oct 2026 07:28:00 GMT"`), the latter measured from `now`
    (wall-clock seconds, by default the current time). Garbage gives None, so the
    caller falls back to its backoff; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_date(text, time.time() if now is None else now)
    return seconds if math.isfinite(seconds) else None


def _seconds_until_date(text: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


@attrs.frozen
class Backoff:
    """Capped exponential backoff with full jitter.

    The n-th retry waits a uniformly random time between 0 and
    `min(cap, initial * 2**n)`: spreading retries over the whole window keeps many
    clients that failed together from retrying together.
    """

    initial: float = attrs.field(default=0.5, validator=positive)
    cap: float = attrs.field(default=30.0, validator=positive)
    attempts: int = attrs.field(default=10, validator=positive_int)
    """The most times one request is sent; after that its error is raised."""

    def delay(self, retry: int, rng: random.Random) -> float:
        """How long to wait before retry number `retry` (0 for the first)."""
        try:
            window = min(self.cap, self.initial * 2.0**retry)
        except OverflowError:
            # 2.0**retry is past a float's range from retry 1024; the cap holds.
            window = self.cap
        return rng.uniform(0.0, window)


@attrs.define
class Budget:
    """Bounds, paces and retries every request of one run.

    Args:
        max_in_flight: The most requests on their way at once; None for no limit.
        rate: The pace to keep; None for none.
        backoff: How transient failures and rate-limit answers are retried.
        max_pause: The longest pause a `Retry-After` may impose, seconds; a longer,
            negative or missing one falls back to the backoff.
        rng: The source of jitter, injected so that a seeded run repeats.
    """

    max_in_flight: int | None = 100
    rate: RateLimit | None = None
    backoff: Backoff = attrs.Factory(Backoff)
    max_pause: float = 120.0
    rng: random.Random = attrs.Factory(random.Random)
    sent: Counter[RequestKind] = attrs.field(init=False, factory=Counter)
    retries: int = attrs.field(init=False, default=0)
    rejected: int = attrs.field(init=False, default=0)
    resume_at: float = attrs.field(init=False, default=-math.inf)
    _limiter: anyio.CapacityLimiter | None = attrs.field(init=False, default=None)
    _next_slot: float = attrs.field(init=False, default=-math.inf)
    _pause_moved: anyio.Event | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ConfigError(
                f"max_in_flight must be at least 1, got {self.max_in_flight!r}"
            )
        if self.max_in_flight is not None:
            self._limiter = anyio.CapacityLimiter(self.max_in_flight)

    @property
    def in_flight(self) -> int:
        """Requests on their way now (only counted when there is a limit)."""
        return 0 if self._limiter is None else self._limiter.borrowed_tokens

    async def call(
        self,
        kind: RequestKind,
        send: Callable[[], Awaitable[T]],
        *,
        retry_sent: bool = True,
        timeout: float | None = None,
    ) -> T:
        """Send one request through the budget and return its answer.

        Args:
            kind: What the request is, for the counts.
            send: Sends the request once.
            retry_sent: Whether a request that may have reached the API can be sent
                again; False for a submit without an idempotency key.
            timeout: Seconds each attempt may take once sent (waiting for its
                turn not counted); past it, the attempt is a transient failure
                of a request that may have been received.

        Raises:
            TransientError: The failure persisted through every attempt, or the
                request may have been received and `retry_sent` is False.
            RateLimited: The API kept refusing through every attempt.
        """
        for attempt in range(self.backoff.attempts):
            try:
                return await self._send_once(kind, send, timeout)
            except RateLimited as error:
                self.rejected += 1
                self._pause(error.retry_after, attempt)
                if attempt + 1 == self.backoff.attempts:
                    raise
            except TransientError as error:
                if (error.sent and not retry_sent) or (
                    attempt + 1 == self.backoff.attempts
                ):
                    raise
                if self._usable(error.retry_after):
                    # A 503 that says when the server is back: nobody asks sooner.
                    self._pause(error.retry_after, attempt)
                else:
                    delay = self.backoff.delay(attempt, self.rng)
                    log.debug("retrying %s in %.2fs after %s", kind.value, delay, error)
                    await anyio.sleep(delay)
            self.retries += 1
        raise AssertionError("unreachable: the last attempt returns or raises")

    def pause_until(self, when: float) -> None:
        """Hold every request back until `when`: the latest word from the API wins.

        Requests already waiting out an earlier pause wake to the new end, sooner
        or later than the old one.
        """
        self.resume_at = when
        if self._pause_moved is not None:
            self._pause_moved.set()
            self._pause_moved = None

    async def _send_once(
        self, kind: RequestKind, send: Callable[[], Awaitable[T]], timeout: float | None
    ) -> T:
        if self._limiter is None:
            await self._wait_turn()
            return await self._timed(kind, send, timeout)
        async with self._limiter:
            await self._wait_turn()
            return await self._timed(kind, send, timeout)

    async def _timed(
        self, kind: RequestKind, send: Callable[[], Awaitable[T]], timeout: float | None
    ) -> T:
        self.sent[kind] += 1
        try:
            with anyio.fail_after(math.inf if timeout is None else timeout):
                return await send()
        except TimeoutError:
            raise TransientError(
                f"{kind.value}: no answer within {timeout:g}s", sent=True, kind=kind
            ) from None

    async def _wait_turn(self) -> None:
        """Wait out any pause the API asked for, then for a slot in the pace."""
        if self.rate is None and self.resume_at == -math.inf:
            return
        while True:
            now = anyio.current_time()
            if now < self.resume_at:
                await self._sleep_out_pause()
                continue
            slot = self._reserve_slot(now)
            if slot > now:
                await anyio.sleep_until(slot)
            if anyio.current_time() >= self.resume_at:
                return

    async def _sleep_out_pause(self) -> None:
        """Sleep until the pause ends, or until a later answer moves its end."""
        if self._pause_moved is None:
            # Made here, not at construction: an event belongs to a running loop.
            self._pause_moved = anyio.Event()
        moved = self._pause_moved
        with anyio.CancelScope(deadline=self.resume_at):
            await moved.wait()
        if self._pause_moved is moved and anyio.current_time() >= self.resume_at:
            # The pause is over: the next one gets an event of the loop it runs in.
            self._pause_moved = None

    def _reserve_slot(self, now: float) -> float:
        """The time this request may go, under the rate and burst.

        Slots are handed out in order, one interval apart, and a caller may run
        ahead of the schedule by at most `burst - 1` intervals: the generic cell
        rate algorithm, which needs one number of state.
        """
        if self.rate is None:
            return now
        interval = 1.0 / self.rate.per_second
        earliest = max(self._next_slot, now - (self.rate.burst - 1) * interval)
        self._next_slot = earliest + interval
        return max(now, earliest)

    def cool_down(self, seconds: float) -> None:
        """Hold every request back `seconds`: the API said its quota is spent.

        Out-of-bounds values (negative, not finite, over `max_pause`) are
        ignored: a 429 that follows brings its own `Retry-After`.
        """
        if not self._usable(seconds) or seconds == 0:
            return
        now = anyio.current_time()
        if now + seconds <= self.resume_at:
            return
        log.warning("the API's quota is spent: holding every request %.2fs", seconds)
        self.pause_until(now + seconds)

    def _usable(self, retry_after: float | None) -> bool:
        """Whether a `Retry-After` is one to honour: known, finite, in bounds."""
        return (
            retry_after is not None
            and math.isfinite(retry_after)
            and 0 <= retry_after <= self.max_pause
        )

    def _pause(self, retry_after: float | None, attempt: int) -> None:
        wait = (
            retry_after
            if retry_after is not None and self._usable(retry_after)
            else self.backoff.delay(attempt, self.rng)
        )
        now = anyio.current_time()
        if not self.resume_at > now:
            log.warning("the API asked for a pause: holding every request %.2fs", wait)
        self.pause_until(now + wait)
