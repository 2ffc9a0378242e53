"""The one exception hierarchy of the package.

Every leaf also subclasses the builtin it resembles, so that callers who catch
`TimeoutError` or `ValueError` keep working.
"""

from __future__ import annotations

from ._types import JobId, RequestKind


class PollingError(Exception):
    """Base of every error this package raises."""


class ConfigError(PollingError, ValueError):
    """A strategy, a parameter or a setting is not valid; the message names it."""


class ProtocolError(PollingError, ValueError):
    """The job API answered something this client does not understand."""


class AuthError(PollingError, PermissionError):
    """The job API refused the credentials (401 or 403); retrying will not help."""


class RequestError(PollingError):
    """A request failed; `kind` says which, `job_id` which job where there is one."""

    def __init__(
        self,
        message: str,
        *,
        kind: RequestKind | None = None,
        job_id: JobId | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.job_id = job_id


class TransientError(RequestError, ConnectionError):
    """A failure worth retrying: a connect error, a timeout, a 502, 503 or 504.

    `sent` tells whether the request may have reached the server: a submit that may
    have been stored is only retried when it carries an idempotency key.
    `retry_after` is the wait the server asked for (a 503's `Retry-After`), seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        sent: bool = True,
        kind: RequestKind | None = None,
        job_id: JobId | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, kind=kind, job_id=job_id)
        self.sent = sent
        self.retry_after = retry_after


class RateLimited(RequestError):
    """The job API answered 429; `retry_after` is the wait it asked for, seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        kind: RequestKind | None = None,
    ) -> None:
        super().__init__(message, kind=kind)
        self.retry_after = retry_after


class CapabilityMissing(RequestError, NotImplementedError):
    """The job API does not have this kind of request (it answered 404 or 405)."""


class RejectedError(RequestError, ValueError):
    """The job API refused the request as malformed (a 4xx other than 404/429)."""


class DeadlineExceeded(PollingError, TimeoutError):
    """The caller's deadline passed before every job was terminal."""

    def __init__(self, message: str, *, job_ids: tuple[JobId, ...] = ()) -> None:
        super().__init__(message)
        self.job_ids = job_ids
