"""The server's one small error hierarchy.

`ApiError` and its leaves are client mistakes, answered with their HTTP status and a
JSON body `{"error": {"code": ..., "message": ...}}`. `ForecastError` is a job that
could not be computed; it ends the job in the error state, never the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ServerError(Exception):
    """Base of every error the server raises on purpose."""


class ForecastError(ServerError, ValueError):
    """A forecast could not be computed from the request it was given."""


class ApiError(ServerError):
    """A request the server refuses; carries the HTTP status and a stable code."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        """Fields answered beside `error`, such as a job's `status`."""


class MalformedRequest(ApiError, ValueError):
    """The body is not valid JSON."""

    code = "malformed_json"


class NotAuthenticated(ApiError, PermissionError):
    """No bearer token, or one that is not a known API key."""

    status_code = 401
    code = "unauthorized"


class NotFound(ApiError, LookupError):
    """No such route, or no such job for this key."""

    status_code = 404
    code = "not_found"


class MethodNotAllowed(ApiError):
    """The route exists but not with this method."""

    status_code = 405
    code = "method_not_allowed"


class Conflict(ApiError):
    """An idempotency key was reused with a different request."""

    status_code = 409
    code = "idempotency_conflict"


class Gone(ApiError, LookupError):
    """The job existed but its result passed the retention period."""

    status_code = 410
    code = "expired"


class BodyTooLarge(ApiError, ValueError):
    """The body is over the server's byte limit."""

    status_code = 413
    code = "body_too_large"


class UriTooLong(ApiError, ValueError):
    """The URL is over the length limit, or a query lists too many ids."""

    status_code = 414
    code = "uri_too_long"


class InvalidRequest(ApiError, ValueError):
    """The request is well-formed JSON but breaks a rule; the message names it."""

    status_code = 422
    code = "invalid_request"


class TooManyRequests(ApiError):
    """The key is over its rate limit; `Retry-After` says when to come back."""

    status_code = 429
    code = "rate_limited"
