"""What every request passes before a route: keys, rate limits, size limits.

A plain ASGI middleware, so that it costs little and adds its headers to every
answer, the errors of the routes included.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import time
from collections.abc import Iterable
from typing import Any

import attrs
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import ApiError, BodyTooLarge, TooManyRequests, UriTooLong
from ._settings import Settings, hash_api_key

logger = logging.getLogger(__name__)


class Keyring:
    """The accepted API keys, held as SHA-256 hashes."""

    def __init__(self, hashes: Iterable[str]) -> None:
        self._hashes = tuple(hashes)

    def owner_of(self, authorization: str | None) -> str | None:
        """The key hash a bearer `Authorization` header proves, or None."""
        if not authorization:
            return None

        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None

        digest = hash_api_key(token)
        found = None
        # Every stored hash is compared, with a constant-time compare, so the time
        # taken says nothing about which key, or how much of one, matched.
        for candidate in self._hashes:
            if hmac.compare_digest(candidate, digest):
                found = candidate
        return found


@attrs.frozen
class RateDecision:
    """Whether a request may pass, and what the `RateLimit-*` headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    """Seconds until the window frees requests again."""
    retry_after: int


class RateLimiter:
    """A per-identity sliding-window limit per minute, plus a per-second burst cap."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._minute = RateLimitItemPerMinute(per_minute)
        self._second = RateLimitItemPerSecond(burst)

    def hit(self, identity: str) -> RateDecision:
        """Count one request of this identity, unless it is over a limit."""
        items = (self._second, self._minute)
        blocked = [item for item in items if not self._limiter.test(item, identity)]
        if not blocked:
            for item in items:
                self._limiter.hit(item, identity)

        now = time.time()
        stats = self._limiter.get_window_stats(self._minute, identity)
        reset = max(0, math.ceil(stats.reset_time - now))
        retry_after = 0
        if blocked:
            waits = [
                self._limiter.get_window_stats(item, identity).reset_time - now
                for item in blocked
            ]
            retry_after = max(1, math.ceil(max(waits)))
        return RateDecision(
            allowed=not blocked,
            limit=self._minute.amount,
            remaining=max(0, stats.remaining),
            reset=reset,
            retry_after=retry_after,
        )


def error_body(error: ApiError) -> dict[str, Any]:
    """The JSON body of an error answer."""
    return {"error": {"code": error.code, "message": error.message}, **error.extra}


class Guard:
    """Rate limits, URL and body limits, and the headers every answer carries.

    Args:
        app: The app behind.
        settings: The limits.
        keyring: The keys, to count each key on its own; requests without a known
            key are counted per client address.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, keyring: Keyring) -> None:
        self.app = app
        self._settings = settings
        self._keyring = keyring
        self._limiter = RateLimiter(
            settings.rate_limit_per_minute, settings.rate_limit_burst
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        owner = self._keyring.owner_of(authorization)
        client = scope.get("client")
        identity = owner or f"addr:{client[0] if client else 'unknown'}"
        decision = self._limiter.hit(identity)
        extra_headers = [
            (b"ratelimit-limit", str(decision.limit).encode()),
            (b"ratelimit-remaining", str(decision.remaining).encode()),
            (b"ratelimit-reset", str(decision.reset).encode()),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - started) * 1000
                message["headers"] = [
                    *message.get("headers", []),
                    *extra_headers,
                    (b"server-timing", f"app;dur={elapsed_ms:.3f}".encode()),
                ]
            await send(message)

        if not decision.allowed:
            logger.warning("rate limit hit by %s", identity[:16])
            retry = str(decision.retry_after)
            await _answer(
                send_with_headers,
                TooManyRequests(
                    f"rate limit exceeded; retry after {retry} s",
                    headers={"Retry-After": retry},
                ),
            )
            return

        length = len(scope.get("raw_path") or scope["path"].encode())
        query = scope.get("query_string", b"")
        if query:
            length += 1 + len(query)
        if length > self._settings.max_url_length:
            await _answer(
                send_with_headers,
                UriTooLong(
                    f"the URL is {length} bytes; at most "
                    f"{self._settings.max_url_length} are accepted"
                ),
            )
            return

        limit = self._settings.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(send_with_headers, _too_large(int(declared), limit))
            return

        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _answer(send_with_headers, _too_large(size, limit))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)

        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)


def _too_large(size: int, limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"the body is over {limit} bytes (at least {size})")


async def _answer(send: Send, error: ApiError) -> None:
    body = json.dumps(error_body(error)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in error.headers.items()),
    ]
    await send(
        {"type": "http.response.start", "status": error.status_code, "headers": headers}
    )
    await send({"type": "http.response.body", "body": body})
