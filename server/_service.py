"""The job service: the store, the executor and the waiters, tied together.

Routes call the service; the service runs the dispatcher that hands queued jobs to
the executor and records how they end, and wakes the long-polls of a key whenever one
of its jobs changes.
"""

from __future__ import annotations

import collections
import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import anyio

from ._executors import Completion, Executor, JobSpec
from ._settings import Settings
from ._store import Accepted, FeedPage, JobRow, JobStore, NewJob

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Changes:
    """Per-key wake-ups: a waiter takes the key's event, a change sets it.

    An event is taken before the store is read and waited on after, so a change
    that lands between the two is never missed. Finishes have events of their own,
    so the feed, which cares only about them, is not woken by every job start.
    """

    def __init__(self) -> None:
        self._events: dict[tuple[str, bool], anyio.Event] = {}

    def event(self, owner: str, *, finished_only: bool = False) -> anyio.Event:
        """The event the next change (or finish) of this key's jobs will set."""
        key = (owner, finished_only)
        event = self._events.get(key)
        if event is None:
            event = self._events[key] = anyio.Event()
        return event

    def notify(self, owner: str, *, finished: bool) -> None:
        """Wake the waiters of this key: all of them, or those of any change."""
        for key in ((owner, False), (owner, True)) if finished else ((owner, False),):
            event = self._events.pop(key, None)
            if event is not None:
                event.set()


class JobService:
    """What the routes ask of the server, and the dispatcher behind it."""

    def __init__(self, settings: Settings, executor: Executor) -> None:
        self.settings = settings
        self.executor = executor
        self.store = JobStore(settings.db_path, retention=settings.retention)
        self.changes = Changes()
        self._queue: collections.deque[str] = collections.deque()
        self._queued = anyio.Event()

    async def db(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a writing store call, in a worker thread unless settings say otherwise.

        Reads are called directly: see `JobStore` for why.
        """
        bound = functools.partial(call, *args, **kwargs)
        if self.settings.offload_db:
            return await anyio.to_thread.run_sync(bound)
        return bound()

    def now(self) -> float:
        """The server's wall clock."""
        return self.settings.clock()

    async def submit(self, owner: str, jobs: Sequence[NewJob]) -> list[Accepted]:
        """Store jobs and queue the new ones."""
        answers = await self.db(self.store.insert, owner, jobs, now=self.now())
        self._queue.extend(a.job_id for a in answers if a.new)
        self._queued.set()
        return answers

    async def statuses(
        self, owner: str, job_ids: Iterable[str], *, with_results: bool
    ) -> dict[str, JobRow]:
        """The jobs of this key among these ids."""
        return self.store.get_many(
            owner, job_ids, now=self.now(), with_results=with_results
        )

    async def wait_for_change(
        self,
        owner: str,
        job_ids: Sequence[str],
        *,
        wait: float,
        with_results: bool,
    ) -> dict[str, JobRow]:
        """The jobs, as soon as any of them differs from what it was at the call.

        Answers at once when any of them is already terminal or unknown, and at the
        latest after `wait` seconds.
        """
        event = self.changes.event(owner)
        rows = await self.statuses(owner, job_ids, with_results=with_results)
        first = {
            job_id: rows[job_id].status if job_id in rows else None
            for job_id in job_ids
        }
        if wait <= 0 or any(s is None or s.is_terminal for s in first.values()):
            return rows

        with anyio.move_on_after(wait):
            while True:
                await event.wait()
                event = self.changes.event(owner)
                rows = await self.statuses(owner, job_ids, with_results=with_results)
                if any(
                    (rows[i].status if i in rows else None) != s
                    for i, s in first.items()
                ):
                    return rows

        return await self.statuses(owner, job_ids, with_results=with_results)

    async def feed(
        self,
        owner: str,
        *,
        after: int | None,
        since: float | None,
        limit: int,
        wait: float,
        linger: float | None = None,
    ) -> FeedPage:
        """A page of this key's completions, long-polled.

        With completions already waiting, the page is answered at once. Otherwise it
        waits for the first one, then lingers `linger` seconds (by default
        `feed_linger`) to gather more, answering early when the page is full, and
        at the latest after `wait`.
        """
        event = self.changes.event(owner, finished_only=True)
        page = await self._feed_page(owner, after, since, limit)
        if page.rows or wait <= 0:
            return page

        after, since = page.cursor, None
        with anyio.move_on_after(wait):
            while not page.rows:
                await event.wait()
                event = self.changes.event(owner, finished_only=True)
                page = await self._feed_page(owner, after, since, limit)

            if linger is None:
                linger = self.settings.feed_linger
            with anyio.move_on_after(linger):
                while len(page.rows) < limit:
                    await event.wait()
                    event = self.changes.event(owner, finished_only=True)
                    page = await self._feed_page(owner, after, since, limit)

        if not page.rows:
            page = await self._feed_page(owner, after, since, limit)
        return page

    async def _feed_page(
        self, owner: str, after: int | None, since: float | None, limit: int
    ) -> FeedPage:
        return self.store.feed(
            owner, after=after, since=since, limit=limit, now=self.now()
        )

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Dispatch jobs to the executor until cancelled.

        Jobs left unfinished by an earlier run of the server go first.
        """
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.executor.serve)
            tg.start_soon(self._purge_loop)
            left = self.store.unfinished()
            if left:
                logger.info("re-queueing %d unfinished jobs", len(left))
            self._queue.extendleft(reversed(left))
            task_status.started()

            slots = anyio.Semaphore(self.executor.capacity)
            while True:
                while not self._queue:
                    self._queued = anyio.Event()
                    await self._queued.wait()
                await slots.acquire()
                tg.start_soon(self._run_one, self._queue.popleft(), slots)

    async def _run_one(self, job_id: str, slots: anyio.Semaphore) -> None:
        try:
            item = self.store.work_item(job_id)
            if item is None:
                return

            async def started(handle: str | None) -> None:
                await self.db(
                    self.store.mark_running, job_id, now=self.now(), handle=handle
                )
                self.changes.notify(item.owner, finished=False)

            spec = JobSpec(job_id, item.request, item.handle)
            try:
                completion = await self.executor.execute(spec, started)
            except Exception as exc:
                logger.exception("the executor failed on job %s", job_id)
                completion = Completion.failed(
                    "executor_failed", f"{type(exc).__name__}: {exc}"
                )

            completed_at = completion.completed_at
            await self.db(
                self.store.finish,
                job_id,
                completion.status,
                completed_at=self.now() if completed_at is None else completed_at,
                result=completion.result,
                error=completion.error,
            )
            self.changes.notify(item.owner, finished=True)
        finally:
            slots.release()

    async def _purge_loop(self) -> None:
        while True:
            expired = await self.db(self.store.purge, now=self.now())
            if expired:
                logger.info("%d results passed retention", expired)
            await anyio.sleep(self.settings.purge_interval)
