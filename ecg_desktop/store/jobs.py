"""``JobTable``: the jobs of ``SqlJobStore``, read, listed, changed, claimed and deleted.

Every change of a job is a domain move applied to the row under a lock, written back with
only the columns it touched, and announced to the team (``pg_notify``) on commit. A result,
and a group commit of many jobs, are written by ``BlockingJobWriter`` in one worker thread.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ecg_desktop.app.ports import JobQuery, ResultRecord
from ecg_desktop.domain import (
    TERMINAL_STATUSES,
    IllegalTransition,
    Job,
    JobNotFound,
    JobStatus,
    Stage,
)

from . import schema as t
from .database import SqlDatabase
from .errors import JobExists
from .rows import changed_row, job_to_row, row_to_job

if TYPE_CHECKING:
    from .blocking_writer import BlockingJobWriter, BlockingWriterFactory

_T = TypeVar("_T")
_ALL_JOBS = JobQuery()

PG_WRITE_CONCURRENCY = 1


class JobTable(SqlDatabase):
    """The ``jobs`` table; a job's transcript rows go with it when it is deleted."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._blocking: BlockingJobWriter | None = None  # opened with the first update_many

    @property
    def write_concurrency(self) -> int:
        """How many group commits to run at once. SQLite has one writer. PostgreSQL could run
        several (concurrent commits share their disk flushes), but on the benchmark machine
        (2 cores, commits flushed in 0.3 ms) one write with bigger groups did best: 1200/s
        against 800/s with four (``bench/server_callbacks.py``)."""
        return PG_WRITE_CONCURRENCY if self.is_postgresql else 1

    async def close(self) -> None:
        if self._blocking is not None:
            await asyncio.to_thread(self._blocking.close)
            self._blocking = None
        await super().close()

    def blocking_writer_factory(self) -> BlockingWriterFactory:
        """Opens a blocking writer on this database in a worker process (big results)."""
        from .blocking_writer import BlockingWriterFactory

        return BlockingWriterFactory(self._url)

    async def add(self, job: Job) -> None:
        values = {**job_to_row(job), "version": 0}
        try:
            async with self._transaction(write=True) as conn:
                await conn.execute(t.jobs.insert().values(**values))
                await self._notify(conn, job.job_id)
        except sa.exc.IntegrityError as exc:
            raise JobExists(job.job_id) from exc

    async def get(self, job_id: uuid.UUID) -> Job:
        async with self._transaction(write=False) as conn:
            row = (
                await conn.execute(sa.select(t.jobs).where(t.jobs.c.job_id == job_id))
            ).mappings().first()
        if row is None:
            raise JobNotFound(job_id)
        return row_to_job(row)

    def _filters(self, query: JobQuery) -> list[sa.ColumnElement[bool]]:
        filters: list[sa.ColumnElement[bool]] = []
        if query.status is not None:
            filters.append(t.jobs.c.status == query.status.value)
        if query.owner is not None:
            filters.append(t.jobs.c.owner == query.owner)
        if query.text:
            needle = query.text.lower()
            filters.append(
                sa.or_(
                    sa.func.lower(t.jobs.c.filename).contains(needle, autoescape=True),
                    sa.func.lower(sa.func.coalesce(t.jobs.c.file_key, "")).contains(
                        needle, autoescape=True
                    ),
                )
            )
        return filters

    async def list(self, query: JobQuery = _ALL_JOBS) -> builtins.list[Job]:
        """Newest first."""
        statement = (
            sa.select(t.jobs)
            .where(*self._filters(query))
            .order_by(t.jobs.c.created_at.desc(), t.jobs.c.job_id)
            .limit(query.limit)
            .offset(query.offset)
        )
        async with self._transaction(write=False) as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return [row_to_job(row) for row in rows]

    async def count(self, query: JobQuery = _ALL_JOBS) -> int:
        statement = sa.select(sa.func.count()).select_from(t.jobs).where(*self._filters(query))
        async with self._transaction(write=False) as conn:
            return int((await conn.execute(statement)).scalar_one())

    async def changed_since(self, since: datetime, limit: int = 1000) -> builtins.list[Job]:
        """Jobs updated at or after ``since``, oldest change first: what a reconnected desktop
        missed (the job last seen comes again when nothing changed after it)."""
        statement = (
            sa.select(t.jobs)
            .where(t.jobs.c.updated_at >= since)
            .order_by(t.jobs.c.updated_at)
            .limit(limit)
        )
        async with self._transaction(write=False) as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return [row_to_job(row) for row in rows]

    async def update(
        self,
        job_id: uuid.UUID,
        change: Callable[[Job], None],
        *,
        result: ResultRecord | None = None,
    ) -> Job:
        if result is not None:
            # A result is written by the same code as a worker process's (BlockingJobWriter),
            # in one thread: its JSON, rows and bulk inserts stay off the loop.
            return await self._in_writer_thread(
                lambda writer: writer.update(job_id, change, result=result)
            )
        async with self._transaction(write=True) as conn:
            row = (
                await conn.execute(
                    sa.select(t.jobs).where(t.jobs.c.job_id == job_id).with_for_update()
                )
            ).mappings().first()
            if row is None:
                raise JobNotFound(job_id)
            job, values = changed_row(row, change)  # an illegal move rolls back
            await conn.execute(t.jobs.update().where(t.jobs.c.job_id == job_id).values(**values))
            await self._notify(conn, job_id)
        return job

    async def update_many(
        self, changes: Mapping[uuid.UUID, Callable[[Job], None]]
    ) -> dict[uuid.UUID, Job | Exception]:
        """Apply a change to each of several jobs in ONE transaction (group commit).

        The rows are locked in job-id order (``SELECT ... FOR UPDATE ORDER BY job_id`` on
        PostgreSQL, so two callers never deadlock; one ``BEGIN IMMEDIATE`` on SQLite). A job
        that is missing gets ``JobNotFound`` and a change that raises gets its exception in the
        answer; neither is written, and neither stops the others. The others are written and
        announced (``pg_notify`` per job) when the transaction commits. A store failure raises
        for the whole call and writes nothing.
        """
        if not changes:
            return {}
        # The whole transaction runs in one worker thread on a blocking connection: through
        # the async driver each of its statements is a round trip between the loop and the
        # driver's thread (some twenty per transaction on SQLite), which made a transaction
        # several times slower than its SQL under load.
        return await self._in_writer_thread(lambda writer: writer.update_many(changes))

    async def _in_writer_thread(self, work: Callable[[BlockingJobWriter], _T]) -> _T:
        writer = self._blocking_writer()
        queue = self._sqlite_path is not None
        async with self._sqlite_writer if queue else contextlib.nullcontext():
            return await asyncio.to_thread(work, writer)

    def _blocking_writer(self) -> BlockingJobWriter:
        if self._blocking is None:
            from .blocking_writer import BlockingJobWriter

            self._blocking = BlockingJobWriter(self._url, connections=self.write_concurrency)
        return self._blocking

    async def claim(
        self,
        change: Callable[[Job], None],
        *,
        status: JobStatus | None = None,
        stage: Stage | None = None,
        limit: int = 1,
    ) -> builtins.list[Job]:
        """Take up to ``limit`` jobs (oldest first) that no other transaction holds and apply
        ``change`` to each: a shared work queue. On PostgreSQL rows locked by another
        claimer are skipped (``FOR UPDATE SKIP LOCKED``); on SQLite claimers take turns.
        Terminal jobs never match; a job whose ``change`` raises ``IllegalTransition`` is left
        as it was (pick ``status``/``stage`` so that such jobs do not match)."""
        statement = (
            sa.select(t.jobs)
            .where(t.jobs.c.status.not_in([s.value for s in TERMINAL_STATUSES]))
            .order_by(t.jobs.c.created_at, t.jobs.c.job_id)
            .limit(limit)
        )
        if status is not None:
            statement = statement.where(t.jobs.c.status == status.value)
        if stage is not None:
            statement = statement.where(t.jobs.c.stage == stage.value)
        claimed: builtins.list[Job] = []
        async with self._transaction(write=True) as conn:
            rows = (
                await conn.execute(statement.with_for_update(skip_locked=True))
            ).mappings().all()
            for row in rows:
                try:
                    job, values = changed_row(row, change)
                except IllegalTransition:
                    continue
                await conn.execute(
                    t.jobs.update().where(t.jobs.c.job_id == job.job_id).values(**values)
                )
                await self._notify(conn, job.job_id)
                claimed.append(job)
        return claimed

    async def delete(self, job_id: uuid.UUID) -> None:
        async with self._transaction(write=True) as conn:
            await self._delete_transcript(conn, job_id)
            deleted = await conn.execute(t.jobs.delete().where(t.jobs.c.job_id == job_id))
            if deleted.rowcount == 0:
                raise JobNotFound(job_id)
            await self._notify(conn, job_id)

    @staticmethod
    async def _delete_transcript(conn: AsyncConnection, job_id: uuid.UUID) -> None:
        for table in (t.words, t.segments, t.speakers, t.transcripts):
            await conn.execute(table.delete().where(table.c.job_id == job_id))
