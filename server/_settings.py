"""The server's settings: one frozen value passed to `create_app`."""

from __future__ import annotations

import enum
import hashlib
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import attrs


class ExecutorKind(enum.Enum):
    """Where forecast jobs run."""

    LOCAL = "local"
    MODAL = "modal"


def hash_api_key(key: str) -> str:
    """The SHA-256 hex digest under which an API key is stored and compared."""
    return hashlib.sha256(key.encode()).hexdigest()


_POSITIVE = attrs.validators.gt(0)
_POSITIVE_SECONDS = attrs.validators.gt(0.0)
_NON_NEGATIVE_SECONDS = attrs.validators.ge(0.0)


def _hashes(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@attrs.frozen(kw_only=True)
class Settings:
    """Everything `create_app` needs to know.

    API keys are held only as SHA-256 hashes (see `hash_api_key` and
    `Settings.with_api_keys`); the plain keys are never stored.
    """

    db_path: Path = attrs.field(default=Path("pollstack-server.db"), converter=Path)
    """The SQLite file of the job store; created if missing."""
    api_key_hashes: frozenset[str] = attrs.field(default=frozenset(), converter=_hashes)
    """SHA-256 hex digests of the accepted API keys (`hash_api_key`)."""
    batch_limit: int = attrs.field(default=1000, validator=_POSITIVE)
    """Most ids or requests in one batch call, and most jobs in one feed page."""
    max_url_length: int = attrs.field(default=8000, validator=_POSITIVE)
    """Most bytes of a request's path and query; longer answers `414`."""
    max_body_bytes: int = attrs.field(default=16 * 1024 * 1024, validator=_POSITIVE)
    """Most bytes of a request body; larger answers `413`."""
    max_series_length: int = attrs.field(default=10_000, validator=_POSITIVE)
    """Most values in one series."""
    max_series_per_request: int = attrs.field(default=1000, validator=_POSITIVE)
    """Most series in one forecast request."""
    max_horizon: int = attrs.field(default=1000, validator=_POSITIVE)
    """Most forecast steps one request may ask for."""
    rate_limit_per_minute: int = attrs.field(default=10_000, validator=_POSITIVE)
    """Most requests one key may make in a minute (a sliding window)."""
    rate_limit_burst: int = attrs.field(default=1000, validator=_POSITIVE)
    """Most requests one key may make within any one second."""
    retention: float = attrs.field(default=7 * 24 * 3600.0, validator=_POSITIVE_SECONDS)
    """Seconds a result stays readable after its job finished."""
    feed_linger: float = attrs.field(default=0.25, validator=_NON_NEGATIVE_SECONDS)
    """Seconds the feed keeps gathering after the first new completion."""
    max_wait: float = attrs.field(default=30.0, validator=_NON_NEGATIVE_SECONDS)
    """Longest long-poll wait a request may ask for, well under Modal's 150 s."""
    executor: ExecutorKind = attrs.field(
        default=ExecutorKind.LOCAL, converter=ExecutorKind
    )
    """Where jobs run: `local` (a process pool) or `modal` (the deployed function)."""
    workers: int = attrs.field(factory=_default_workers, validator=_POSITIVE)
    """Processes of the local executor; by default one per CPU."""
    purge_interval: float = attrs.field(default=600.0, validator=_POSITIVE_SECONDS)
    """Seconds between two sweeps that drop expired results."""
    clock: Callable[[], float] = time.time
    """The wall clock of every timestamp the server answers (unix seconds)."""
    offload_db: bool = True
    """Run SQLite writes in a worker thread so a commit never holds the event loop.

    Tests in virtual time (trio's `MockClock` with autojump) turn this off: a wait on
    a worker thread looks idle to the mock clock, which would then jump ahead.
    """

    @classmethod
    def with_api_keys(cls, keys: Iterable[str], **kwargs: object) -> Settings:
        """Settings that accept these plain API keys, stored hashed."""
        return cls(api_key_hashes=frozenset(hash_api_key(k) for k in keys), **kwargs)  # type: ignore[arg-type]  # kwargs are the fields above
