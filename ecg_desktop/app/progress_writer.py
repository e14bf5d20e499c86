"""Group commit of ``processing`` callbacks across jobs (see ``ProgressWriter``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from ecg_desktop.app.callback_outcomes import ensure_open
from ecg_desktop.app.callback_schema import CallbackMessage
from ecg_desktop.app.ports import JobStore
from ecg_desktop.domain import Job


class ProgressBatch:
    """``processing`` callbacks for one job, merged: applying them one by one would give the
    highest progress and the last stage message, and so does applying the batch once."""

    def __init__(self) -> None:
        self.progress: int | None = None
        self.message: str | None = None
        self.written: asyncio.Future[Job] = asyncio.get_running_loop().create_future()

    def merge(self, message: CallbackMessage) -> None:
        if message.progress is not None:
            self.progress = max(self.progress or 0, message.progress)
        if message.message is not None:
            self.message = message.message

    def change(self, job: Job) -> None:
        ensure_open(job)
        job.report_progress(max(job.progress, self.progress or 0), self.message)


class ProgressWriter:
    """Group commit of ``processing`` callbacks across jobs.

    A callback starts a write at once when fewer than ``max_writers`` are in flight; the
    callbacks that arrive (for any job) while the writes are busy are merged per job and
    written by the next one, in one transaction (``JobStore.update_many``). A job is in at
    most one write at a time, so its callbacks are applied in the order they arrived. Each
    callback is answered once the write that includes it has committed: nothing is
    acknowledged before it is durable. A write that fails for a group is done again job by
    job, so one job's bad row fails only its own callbacks.
    """

    MAX_JOBS_PER_WRITE = 500

    def __init__(
        self, store: JobStore, on_written: Callable[[Job], None], *, max_writers: int = 1
    ) -> None:
        self._store = store
        self._on_written = on_written
        self._max_writers = max(1, max_writers)
        self._pending: dict[uuid.UUID, ProgressBatch] = {}
        self._in_flight: set[uuid.UUID] = set()
        self._writers: set[asyncio.Task[None]] = set()

    async def record(self, message: CallbackMessage) -> Job:
        batch = self._pending.get(message.job_id)
        if batch is None:
            batch = self._pending[message.job_id] = ProgressBatch()
        batch.merge(message)
        self._start_writers()
        return await asyncio.shield(batch.written)

    def _start_writers(self) -> None:
        while len(self._writers) < self._max_writers and self._writable():
            task = asyncio.create_task(self._write())
            self._writers.add(task)
            task.add_done_callback(self._writer_done)

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        self._writers.discard(task)
        self._start_writers()

    def _writable(self) -> bool:
        return any(job_id not in self._in_flight for job_id in self._pending)

    def _take(self) -> dict[uuid.UUID, ProgressBatch]:
        taken: dict[uuid.UUID, ProgressBatch] = {}
        for job_id in self._pending:
            if job_id not in self._in_flight:
                taken[job_id] = self._pending[job_id]
                if len(taken) == self.MAX_JOBS_PER_WRITE:
                    break
        for job_id in taken:
            del self._pending[job_id]
        self._in_flight.update(taken)
        return taken

    async def _write(self) -> None:
        while self._writable():
            batches = self._take()
            try:
                outcome = await self._write_batches(batches)
            except asyncio.CancelledError:
                for batch in batches.values():
                    batch.written.cancel()
                raise
            finally:
                self._in_flight.difference_update(batches)
            self._settle(batches, outcome)

    async def _write_batches(
        self, batches: dict[uuid.UUID, ProgressBatch]
    ) -> dict[uuid.UUID, Job | Exception]:
        try:
            return await self._store.update_many(
                {job_id: batch.change for job_id, batch in batches.items()}
            )
        except Exception as exc:
            if len(batches) == 1:  # the store failed for this one job
                return dict.fromkeys(batches, exc)
            # One job's text (or row) can fail the whole transaction: write each job on its
            # own, so that only the guilty callback fails.
            return await self._one_by_one(batches)

    async def _one_by_one(
        self, batches: dict[uuid.UUID, ProgressBatch]
    ) -> dict[uuid.UUID, Job | Exception]:
        outcome: dict[uuid.UUID, Job | Exception] = {}
        for job_id, batch in batches.items():
            try:
                outcome.update(await self._store.update_many({job_id: batch.change}))
            except Exception as exc:
                outcome[job_id] = exc
        return outcome

    def _settle(
        self, batches: dict[uuid.UUID, ProgressBatch], outcome: dict[uuid.UUID, Job | Exception]
    ) -> None:
        for job_id, batch in batches.items():
            written = outcome[job_id]
            if isinstance(written, Exception):
                batch.written.set_exception(written)
            else:
                batch.written.set_result(written)
                self._on_written(written)  # one event per job and write
