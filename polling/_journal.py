"""The journal of a forecast run: what was submitted, so a killed run can resume.

One JSON object per line, appended and fsync'd before the call it records goes
on: a header naming the input, then for every submit a `submit` line (its
idempotency key and the input positions it carries) written before the request
is sent, a `created` line (the job ids) once the server answers, and a `refused`
line when the server refused it as malformed (it created nothing; its requests go
again in smaller submits of their own). A run that
starts again on the same journal polls the jobs whose ids it knows and sends the
others again with the same key, so the server hands back the same jobs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Final

import attrs

from ._errors import ConfigError
from ._types import JobId

_FORMAT: Final = "pollstack-journal"
_VERSION: Final = 1


@attrs.frozen
class Submission:
    """One submit request as journaled: its key, its input positions, its shape."""

    key: str
    indices: tuple[int, ...]
    batch: bool
    """Sent as one batch submit, so a resend must be one batch of the same."""


class Journal:
    """An append-only record of one run's submits, on a file.

    Use `Journal.open`; close it when the run is over.
    """

    def __init__(
        self,
        file: IO[str],
        submissions: dict[str, Submission],
        created: dict[str, tuple[JobId, ...]],
    ) -> None:
        self._file = file
        self.submissions = submissions
        """Every submit journaled, by key, in the order they were written."""
        self.created = created
        """The job ids of each submit whose answer was journaled, by key."""

    @classmethod
    def open(cls, path: Path, *, count: int, digest: str) -> Journal:
        """Open the journal at `path`, creating it for this input if missing.

        A last line cut short (the process was killed while writing it) is
        dropped: its call either never went out or will be sent again with its
        key.

        Args:
            path: The journal file.
            count: How many requests the input has.
            digest: A digest of the input, so that a journal is never applied to
                other requests than its own.

        Raises:
            ConfigError: The journal belongs to another input or cannot be read.
        """
        header = {"journal": _FORMAT, "version": _VERSION}
        header |= {"count": count, "digest": digest}
        entries, good_bytes = _read(path)
        if entries and {k: entries[0].get(k) for k in header} != header:
            raise ConfigError(
                f"journal {path} was written for another input "
                f"({entries[0].get('count')} requests); use a new journal file"
            )

        submissions: dict[str, Submission] = {}
        created: dict[str, tuple[JobId, ...]] = {}
        for number, entry in enumerate(entries[1:], start=2):
            try:
                if "submit" in entry:
                    key = str(entry["submit"])
                    indices = tuple(int(i) for i in entry["indices"])
                    submissions[key] = Submission(key, indices, bool(entry["batch"]))
                elif "created" in entry:
                    key = str(entry["created"])
                    created[key] = tuple(JobId(str(i)) for i in entry["job_ids"])
                elif "refused" in entry:
                    submissions.pop(str(entry["refused"]), None)
            except (KeyError, TypeError, ValueError) as error:
                raise ConfigError(f"journal {path} line {number}: {error!r}") from error

        file = path.open("a", encoding="utf-8")
        file.truncate(good_bytes)
        journal = cls(file, submissions, created)
        if not entries:
            journal._append(header)
        return journal

    def submitting(self, submission: Submission) -> None:
        """Record a submit before it is sent."""
        self.submissions[submission.key] = submission
        self._append(
            {
                "submit": submission.key,
                "indices": list(submission.indices),
                "batch": submission.batch,
            }
        )

    def submitted(self, key: str, job_ids: Sequence[JobId]) -> None:
        """Record the job ids a submit's answer gave."""
        self.created[key] = tuple(job_ids)
        self._append({"created": key, "job_ids": list(job_ids)})

    def refused(self, key: str) -> None:
        """Record that the server refused a submit: it created no job."""
        self.submissions.pop(key, None)
        self._append({"refused": key})

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def _append(self, entry: dict[str, Any]) -> None:
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())


def _read(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The entries of a journal and the length of its whole lines, in bytes.

    Only the last line may be torn: every earlier one was fsync'd whole before
    the next was begun. A bad line elsewhere means the file is not a journal.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    except OSError as error:
        raise ConfigError(f"cannot read journal {path}: {error}") from error
    # Whatever follows the last newline was written only in part.
    whole, newline, torn = data.rpartition(b"\n")
    lines = whole.split(b"\n") if newline else []
    entries: list[dict[str, Any]] = []
    good = 0
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            if number == len(lines) and not torn:
                break
            raise ConfigError(f"journal {path} line {number} is not a journal entry")
        entries.append(entry)
        good += len(line) + 1
    return entries, good
