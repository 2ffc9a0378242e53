"""The job store: one SQLite file in WAL mode.

The store is a handful of fixed statements on one table, so the standard library's
`sqlite3` is all it needs; an ORM would add a layer without removing any code.

Two connections: one writes, behind a lock (SQLite serialises writers anyway), and
the app calls the writing methods from a worker thread (see `Settings.offload_db`),
since a commit may wait on the disk. The other reads. In WAL mode a reader never
waits for a writer, and the reads are single indexed queries of a few milliseconds
at most (a thousand ids), so the app runs them on the event loop itself: handing
them to a thread would cost more than the query.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

import attrs

from polling._types import JobStatus

from ._errors import Conflict

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_at REAL NOT NULL,
    started_at REAL,
    completed_at REAL,
    request TEXT,
    request_hash TEXT,
    idempotency_key TEXT,
    handle TEXT,
    result TEXT,
    error TEXT,
    done_seq INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency
    ON jobs (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_feed
    ON jobs (owner, done_seq) WHERE done_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_done_seq
    ON jobs (done_seq) WHERE done_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_completed_at
    ON jobs (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_unfinished
    ON jobs (status) WHERE status IN ('pending', 'running');
"""

_UNFINISHED: Final = (JobStatus.PENDING.value, JobStatus.RUNNING.value)
_FINISHED: Final = (JobStatus.COMPLETED.value, JobStatus.FAILED.value)
# The newest completion's number: one seek in the partial index on `done_seq`.
_TOP: Final = (
    "SELECT COALESCE((SELECT done_seq FROM jobs WHERE done_seq IS NOT NULL"
    " ORDER BY done_seq DESC LIMIT 1), 0)"
)
_STATUS_OF_VALUE: Final = {status.value: status for status in JobStatus}
_UNKNOWN_ERROR: Final = {"code": "job_failed", "message": "the job failed"}


JOB_ID_LENGTH: Final = 35


def new_job_id() -> str:
    """An unguessable job id: 128 random bits, `fj_` and 32 hex digits."""
    return "fj_" + secrets.token_hex(16)


@attrs.frozen
class NewJob:
    """One accepted request, about to be stored."""

    request: str
    """The request as canonical JSON."""
    request_hash: str
    idempotency_key: str | None = None


class JobRow(NamedTuple):
    """One job as the store holds it, with expiry already applied.

    A named tuple rather than an attrs class: a batch status builds a thousand of
    them per request, and tuples are the cheapest to build.
    """

    job_id: str
    status: JobStatus
    submitted_at: float
    started_at: float | None
    completed_at: float | None
    result: Any = None
    error: dict[str, str] | None = None


@attrs.frozen
class Accepted:
    """A stored job as a submit answers it."""

    job_id: str
    status: JobStatus
    submitted_at: float
    new: bool
    """False when an idempotency key found a job made before."""


@attrs.frozen
class FeedPage:
    """Completions in the order they were recorded, and where to resume."""

    rows: list[JobRow]
    cursor: int


@attrs.frozen
class WorkItem:
    """What the dispatcher needs to run one job."""

    job_id: str
    owner: str
    request: dict[str, Any]
    handle: str | None


class JobStore:
    """Jobs, their owners, states, requests and results, in one SQLite file.

    Args:
        path: The database file.
        retention: Seconds after completion at which a result expires.
    """

    def __init__(self, path: Path, *, retention: float) -> None:
        self._retention = retention
        self._lock = threading.RLock()
        # WAL with synchronous=NORMAL: a killed process loses no committed
        # transaction (the WAL is in the OS cache); only a power loss can drop the
        # last few, a trade taken for write speed.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._done_seq: int = self._db.execute(_TOP).fetchone()[0]
        if str(path) == ":memory:":
            # Each connection to ":memory:" is a database of its own.
            self._reader, self._read_lock = self._db, self._lock
        else:
            self._reader = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None
            )
            self._reader.execute("PRAGMA busy_timeout=5000")
            self._read_lock = threading.RLock()

    def close(self) -> None:
        """Close the connections."""
        with self._lock, self._read_lock:
            self._db.close()
            self._reader.close()

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._read_lock:
            return self._reader.execute(sql, params).fetchall()

    def insert(
        self, owner: str, jobs: Sequence[NewJob], *, now: float
    ) -> list[Accepted]:
        """Store accepted jobs, or find the ones their idempotency keys made before.

        Returns:
            Each job, in order.

        Raises:
            Conflict: An idempotency key was used before with another request.
        """
        answers: list[Accepted] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for job in jobs:
                    answers.append(self._insert_one(owner, job, now))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return answers

    def _insert_one(self, owner: str, job: NewJob, now: float) -> Accepted:
        if job.idempotency_key is not None:
            found = self._db.execute(
                "SELECT job_id, status, request_hash, submitted_at FROM jobs"
                " WHERE owner = ? AND idempotency_key = ?",
                (owner, job.idempotency_key),
            ).fetchone()
            if found is not None:
                if found[2] != job.request_hash:
                    raise Conflict(
                        f"Idempotency-Key {job.idempotency_key!r} was already used "
                        "with a different request"
                    )
                return Accepted(found[0], JobStatus(found[1]), found[3], new=False)

        job_id = new_job_id()
        self._db.execute(
            "INSERT INTO jobs (job_id, owner, status, submitted_at, request,"
            " request_hash, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                owner,
                JobStatus.PENDING.value,
                now,
                job.request,
                job.request_hash,
                job.idempotency_key,
            ),
        )
        return Accepted(job_id, JobStatus.PENDING, now, new=True)

    def get_many(
        self,
        owner: str,
        job_ids: Iterable[str],
        *,
        now: float,
        with_results: bool,
    ) -> dict[str, JobRow]:
        """The jobs of this owner among these ids; others are simply absent.

        One query: the ids go in as one JSON array, joined to the job id index,
        which costs less than binding a thousand parameters to `IN (...)`.
        """
        ids = list(dict.fromkeys(job_ids))
        if not ids:
            return {}

        columns = "j.job_id, status, submitted_at, started_at, completed_at, error"
        if with_results:
            columns += ", result"
        rows = self._read(
            f"SELECT {columns} FROM json_each(?) AS wanted"
            " JOIN jobs AS j ON j.job_id = wanted.value WHERE j.owner = ?",
            (json.dumps(ids), owner),
        )
        return {row[0]: self._row(row, now, with_results) for row in rows}

    def get(self, owner: str, job_id: str, *, now: float) -> JobRow | None:
        """One job of this owner, with its result, or None."""
        return self.get_many(owner, [job_id], now=now, with_results=True).get(job_id)

    def _row(self, row: Sequence[Any], now: float, with_result: bool) -> JobRow:
        status = _STATUS_OF_VALUE[row[1]]
        completed_at = row[4]
        result = error = None
        if status is JobStatus.COMPLETED or status is JobStatus.FAILED:
            if completed_at + self._retention <= now:
                status = JobStatus.EXPIRED
            elif status is JobStatus.FAILED:
                error = json.loads(row[5]) if row[5] else _UNKNOWN_ERROR
            elif with_result:
                result = json.loads(row[6])
        return JobRow(row[0], status, row[2], row[3], completed_at, result, error)

    def unfinished(self) -> list[str]:
        """Ids of the jobs accepted but not finished, oldest first."""
        rows = self._read(
            "SELECT job_id FROM jobs WHERE status IN (?, ?) ORDER BY seq", _UNFINISHED
        )
        return [row[0] for row in rows]

    def work_item(self, job_id: str) -> WorkItem | None:
        """The request of an unfinished job, or None if it finished meanwhile."""
        rows = self._read(
            "SELECT owner, request, handle FROM jobs"
            " WHERE job_id = ? AND status IN (?, ?)",
            (job_id, *_UNFINISHED),
        )
        if not rows:
            return None
        owner, request, handle = rows[0]
        return WorkItem(job_id, owner, json.loads(request), handle)

    def mark_running(self, job_id: str, *, now: float, handle: str | None) -> None:
        """Record that a job started, and the executor's handle for it."""
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status = ?, started_at = COALESCE(started_at, ?),"
                " handle = COALESCE(?, handle) WHERE job_id = ? AND status IN (?, ?)",
                (JobStatus.RUNNING.value, now, handle, job_id, *_UNFINISHED),
            )

    def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        completed_at: float,
        result: Any = None,
        error: dict[str, str] | None = None,
    ) -> bool:
        """Record a job's end; a job already finished is left as it is.

        Returns:
            Whether this call finished the job.
        """
        result_json = json.dumps(result) if status is JobStatus.COMPLETED else None
        error_json = json.dumps(error) if error is not None else None
        with self._lock:
            # The feed's order is the order of these commits: the sequence number is
            # taken and written under the same lock.
            seq = self._done_seq + 1
            changed = self._db.execute(
                "UPDATE jobs SET status = ?, completed_at = ?, result = ?, error = ?,"
                " done_seq = ?, request = NULL WHERE job_id = ? AND status IN (?, ?)",
                (
                    status.value,
                    completed_at,
                    result_json,
                    error_json,
                    seq if status in (JobStatus.COMPLETED, JobStatus.FAILED) else None,
                    job_id,
                    *_UNFINISHED,
                ),
            ).rowcount
            if changed and status in (JobStatus.COMPLETED, JobStatus.FAILED):
                self._done_seq = seq
        return bool(changed)

    def feed(
        self,
        owner: str,
        *,
        after: int | None,
        since: float | None,
        limit: int,
        now: float,
    ) -> FeedPage:
        """This owner's retained completions after a point, oldest first.

        Args:
            owner: Whose jobs.
            after: A sequence number from an earlier page's cursor.
            since: Or a time: completions after it.
            limit: Most rows.
            now: The time expiry is judged at.

        Returns:
            The rows, and the position to resume from: the last row's number, or the
            newest completion of any owner when there are none, so that a later page
            starts after everything seen now.
        """
        cutoff = now - self._retention
        where = "owner = ? AND done_seq IS NOT NULL AND completed_at > ?"
        params: list[Any] = [owner, cutoff]
        if after is not None:
            where += " AND done_seq > ?"
            params.append(after)
        elif since is not None:
            where += " AND completed_at > ?"
            params.append(since)
        with self._read_lock:
            # One read transaction, so that the newest number is that of the same
            # snapshot the rows come from.
            self._reader.execute("BEGIN")
            try:
                rows = self._reader.execute(
                    "SELECT job_id, status, submitted_at, started_at, completed_at,"
                    f" error, result, done_seq FROM jobs WHERE {where}"
                    " ORDER BY done_seq LIMIT ?",
                    (*params, limit),
                ).fetchall()
                top = self._reader.execute(_TOP).fetchone()[0]
            finally:
                self._reader.execute("COMMIT")
        page = [self._row(row, now, True) for row in rows]
        if rows:
            return FeedPage(page, rows[-1][7])
        return FeedPage(page, after if after is not None else top)

    def purge(self, *, now: float) -> int:
        """Drop the results past retention, and rows twice as old.

        Returns:
            How many results expired.
        """
        cutoff = now - self._retention
        with self._lock:
            expired = self._db.execute(
                "UPDATE jobs SET status = ?, result = NULL"
                " WHERE completed_at <= ? AND status IN (?, ?)",
                (JobStatus.EXPIRED.value, cutoff, *_FINISHED),
            ).rowcount
            self._db.execute(
                "DELETE FROM jobs WHERE completed_at <= ?", (cutoff - self._retention,)
            )
        return expired

    def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each stored status."""
        rows = self._read("SELECT status, COUNT(*) FROM jobs GROUP BY status", ())
        return {JobStatus(status): n for status, n in rows}
