"""``SqlJobStore``: the ``JobStore`` port on SQLite (WAL) or PostgreSQL, SQLAlchemy 2 async."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection

from ecg_desktop.app.ports import JobQuery, ResultRecord
from ecg_desktop.domain import (
    TERMINAL_STATUSES,
    IllegalTransition,
    Job,
    JobNotFound,
    JobStatus,
    Segment,
    Stage,
    Transcript,
    normalize,
)
from ecg_desktop.domain.job import utcnow

from . import schema as t
from .engine import WRITE_OPTION, create_engine, normalize_url, parse_url, sqlite_path, translate
from .errors import NotInTranscript, StoreCorrupted, StoreError, StoreUnavailable
from .notify import JOBS_CHANNEL
from .rows import (
    changed_row,
    job_to_row,
    packed_to_transcript,
    row_to_job,
    rows_to_transcript,
)

if TYPE_CHECKING:
    from .blocking_writer import BlockingJobWriter, BlockingWriterFactory

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_P = ParamSpec("_P")
_ALL_JOBS = JobQuery()

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
PG_WRITE_CONCURRENCY = 1
_MIGRATION_LOCK_ID = 0x0EC6_0001  # pg_advisory_xact_lock key: one migrator at a time


class JobExists(StoreError):
    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(f"job {job_id} already exists")
        self.job_id = job_id


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


_TRANSCRIPT_SQL = (
    "SELECT metadata, features_measured, edited_at, words_packed FROM transcripts"
    " WHERE job_id = {}"
)
_SPEAKERS_SQL = "SELECT speaker_id, name FROM speakers WHERE job_id = {}"
_SEGMENTS_SQL = (
    "SELECT idx, start_s, end_s, speaker_id, text FROM segments WHERE job_id = {} ORDER BY idx"
)
_WORDS_SQL = (
    "SELECT segment_idx, text, start_s, end_s, volume_db, pitch_hz, spectral_centroid,"
    " confidence, original_text IS NOT NULL FROM words WHERE job_id = {}"
    " ORDER BY segment_idx, idx"
)
_EDITED_WORDS_SQL = (  # served by the partial index ix_words_edited
    "SELECT segment_idx, idx, text FROM words WHERE job_id = {} AND original_text IS NOT NULL"
)


class SqlJobStore:
    """Jobs and transcripts in one database. Open it with ``await SqlJobStore.open(url)``."""

    def __init__(self, url: str) -> None:
        self._url = normalize_url(url)
        self._parsed = parse_url(self._url)
        self._sqlite_path = sqlite_path(self._parsed)
        self._engine = create_engine(self._parsed)
        # SQLite has one writer: writers of this process queue here, not in SQLite's busy
        # handler (which sleeps up to 100 ms between tries and made concurrent writes ~5x
        # slower than sequential ones).
        self._sqlite_writer = asyncio.Lock()
        self._blocking: BlockingJobWriter | None = None  # opened with the first update_many

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> SqlJobStore:
        """Open (creating an SQLite file where none exists) and bring the schema to head."""
        store = cls(url)
        try:
            await store._prepare_sqlite_file()
            if migrate:
                await store.upgrade()
            else:
                await store.ping()
        except BaseException:
            await store.close()
            raise
        return store

    @property
    def is_postgresql(self) -> bool:
        return self._parsed.get_backend_name() == "postgresql"

    @property
    def write_concurrency(self) -> int:
        """How many group commits to run at once. SQLite has one writer. PostgreSQL could run
        several (concurrent commits share their disk flushes), but on the benchmark machine
        (2 cores, commits flushed in 0.3 ms) one write with bigger groups did best: 1200/s
        against 800/s with four (``bench/server_callbacks.py``)."""
        return PG_WRITE_CONCURRENCY if self.is_postgresql else 1

    @property
    def url(self) -> str:
        """The URL with any password hidden."""
        return self._parsed.render_as_string(hide_password=True)

    def describe(self) -> str:
        if self._sqlite_path is not None:
            return f"SQLite {self._sqlite_path}"
        return f"PostgreSQL {self._parsed.host or 'localhost'}/{self._parsed.database or ''}"

    async def close(self) -> None:
        if self._blocking is not None:
            await asyncio.to_thread(self._blocking.close)
            self._blocking = None
        await self._engine.dispose()

    def blocking_writer_factory(self) -> BlockingWriterFactory:
        """Opens a blocking writer on this database in a worker process (big results)."""
        from .blocking_writer import BlockingWriterFactory

        return BlockingWriterFactory(self._url)

    # -- plumbing ------------------------------------------------------------------------

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        try:
            yield
        except (sa.exc.SQLAlchemyError, OSError, TimeoutError) as exc:
            translated = translate(exc, self._url, self._sqlite_path)
            if translated is None:
                raise
            raise translated from exc

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        queue = write and self._sqlite_path is not None
        async with (self._sqlite_writer if queue else contextlib.nullcontext()), \
                self._guard(), self._engine.connect() as conn:
            if write:
                await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    async def _notify(self, conn: AsyncConnection, job_id: uuid.UUID) -> None:
        """Tell LISTENing desktops; PostgreSQL delivers it only if the transaction commits."""
        if self.is_postgresql:
            await conn.execute(
                sa.select(sa.func.pg_notify(JOBS_CHANNEL, str(job_id)))
            )

    async def _prepare_sqlite_file(self) -> None:
        if self._sqlite_path is None:
            return
        try:
            self._sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = f"cannot create {self._sqlite_path.parent}: {exc}"
            raise StoreUnavailable(self._url, reason) from None
        if self._sqlite_path.exists():
            async with self._transaction(write=False) as conn:
                problems = (await conn.exec_driver_sql("PRAGMA quick_check")).scalars().all()
            if problems != ["ok"]:
                raise StoreCorrupted(str(self._sqlite_path), "; ".join(map(str, problems[:3])))

    async def ping(self) -> None:
        async with self._transaction(write=False) as conn:
            await conn.execute(sa.select(1))

    # -- migrations ----------------------------------------------------------------------

    async def upgrade(self, revision: str = "head") -> None:
        """Run the pending migrations in one transaction; existing jobs are kept."""
        async with self._transaction(write=True) as conn:
            if self.is_postgresql:
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_ID)))
            before = await conn.run_sync(_current_revision)
            await conn.run_sync(_alembic_upgrade, revision)
            after = await conn.run_sync(_current_revision)
        if before != after:
            log.info("job store %s migrated from %s to %s", self.describe(), before, after)

    async def current_revision(self) -> str | None:
        async with self._transaction(write=False) as conn:
            return await conn.run_sync(_current_revision)

    # -- jobs ----------------------------------------------------------------------------

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

    # -- transcripts ---------------------------------------------------------------------

    async def _delete_transcript(self, conn: AsyncConnection, job_id: uuid.UUID) -> None:
        for table in (t.words, t.segments, t.speakers, t.transcripts):
            await conn.execute(table.delete().where(table.c.job_id == job_id))

    async def _require_job(self, conn: AsyncConnection, job_id: uuid.UUID) -> None:
        found = await conn.execute(sa.select(t.jobs.c.job_id).where(t.jobs.c.job_id == job_id))
        if found.first() is None:
            raise JobNotFound(job_id)

    async def get_transcript(self, job_id: uuid.UUID) -> Transcript | None:
        # Every query goes straight to the driver, which answers plain tuples: SQLAlchemy
        # rows for thousands of segments (or words) would be made on the event loop.
        async with self._transaction(write=False) as conn:
            head = await self._fetch(conn, _TRANSCRIPT_SQL, job_id)
            if not head:
                return await self._transcript_of_result(conn, job_id)
            metadata, measured, edited_at, packed = head[0]
            speakers = await self._fetch(conn, _SPEAKERS_SQL, job_id)
            segments = await self._fetch(conn, _SEGMENTS_SQL, job_id)
            if packed is not None:
                edited = await self._fetch(conn, _EDITED_WORDS_SQL, job_id) if edited_at else []
                transcript = await asyncio.to_thread(
                    _unless_unfit, packed_to_transcript,
                    metadata, bool(measured), speakers, segments, packed, edited,
                )
                if transcript is not None:
                    return transcript
            words = await self._fetch(conn, _WORDS_SQL, job_id)
        return await asyncio.to_thread(
            rows_to_transcript, metadata, bool(measured), speakers, segments, words
        )

    async def _transcript_of_result(
        self, conn: AsyncConnection, job_id: uuid.UUID
    ) -> Transcript | None:
        raw = (
            await conn.execute(sa.select(t.jobs.c.result).where(t.jobs.c.job_id == job_id))
        ).first()
        if raw is None:
            raise JobNotFound(job_id)
        return await _transcript_of_raw(raw[0]) if raw[0] else None

    async def _fetch(
        self, conn: AsyncConnection, sql: str, job_id: uuid.UUID
    ) -> Sequence[Sequence[Any]]:
        """The rows of ``sql`` (one ``{}`` for the job id) as the driver's plain tuples."""
        driver: Any = (await conn.get_raw_connection()).driver_connection
        if self.is_postgresql:
            async with driver.cursor() as cursor:
                # Binary results: a bytea arrives as is, not as hex text to decode.
                await cursor.execute(sql.format("%s"), (job_id,), binary=True)
                rows: Sequence[Sequence[Any]] = await cursor.fetchall()
                return rows
        rows = await driver.execute_fetchall(sql.format("?"), (job_id.hex,))
        return rows

    async def get_raw_result(self, job_id: uuid.UUID) -> Mapping[str, Any] | None:
        async with self._transaction(write=False) as conn:
            row = (
                await conn.execute(sa.select(t.jobs.c.result).where(t.jobs.c.job_id == job_id))
            ).first()
        if row is None:
            raise JobNotFound(job_id)
        if row[0] is None:
            return None
        parsed: Mapping[str, Any] = await asyncio.to_thread(json.loads, row[0])
        return parsed

    async def word_edits(self, job_id: uuid.UUID) -> dict[tuple[int, int], tuple[str, str]]:
        """``(segment, word) -> (original, current)`` for every word the user corrected."""
        words = t.words.c
        async with self._transaction(write=False) as conn:
            rows = (
                await conn.execute(
                    sa.select(words.segment_idx, words.idx, words.original_text, words.text)
                    .where(words.job_id == job_id, words.original_text.is_not(None))
                    .order_by(words.segment_idx, words.idx)
                )
            ).all()
        return {(seg, idx): (original, text) for seg, idx, original, text in rows}

    # -- edits (the raw result is never touched; originals are kept beside each edit) ----

    @asynccontextmanager
    async def _edit(self, job_id: uuid.UUID) -> AsyncIterator[AsyncConnection]:
        async with self._transaction(write=True) as conn:
            found = await conn.execute(
                t.transcripts.update()
                .where(t.transcripts.c.job_id == job_id)
                .values(edited_at=utcnow())
            )
            if found.rowcount == 0:
                await self._require_job(conn, job_id)
                raise NotInTranscript(f"job {job_id} has no transcript yet")
            yield conn
            await self._notify(conn, job_id)

    async def rename_speaker(self, job_id: uuid.UUID, speaker_id: str, name: str) -> None:
        """One update of ``speakers.name``; an empty name goes back to the speaker id."""
        async with self._edit(job_id) as conn:
            updated = await conn.execute(
                t.speakers.update()
                .where(t.speakers.c.job_id == job_id, t.speakers.c.speaker_id == speaker_id)
                .values(name=name.strip() or None)
            )
            if updated.rowcount == 0:
                raise NotInTranscript(f"job {job_id} has no speaker {speaker_id!r}")

    async def merge_speakers(self, job_id: uuid.UUID, source_id: str, target_id: str) -> None:
        """Every segment of ``source_id`` becomes ``target_id``'s; ``source_id`` disappears."""
        if source_id == target_id:
            return
        async with self._edit(job_id) as conn:
            known = set(
                (
                    await conn.execute(
                        sa.select(t.speakers.c.speaker_id).where(
                            t.speakers.c.job_id == job_id,
                            t.speakers.c.speaker_id.in_([source_id, target_id]),
                        )
                    )
                ).scalars()
            )
            for speaker_id in (source_id, target_id):
                if speaker_id not in known:
                    raise NotInTranscript(f"job {job_id} has no speaker {speaker_id!r}")
            await conn.execute(
                t.segments.update()
                .where(t.segments.c.job_id == job_id, t.segments.c.speaker_id == source_id)
                .values(
                    original_speaker_id=sa.func.coalesce(
                        t.segments.c.original_speaker_id, t.segments.c.speaker_id
                    ),
                    speaker_id=target_id,
                )
            )
            await conn.execute(
                t.speakers.delete().where(
                    t.speakers.c.job_id == job_id, t.speakers.c.speaker_id == source_id
                )
            )

    async def set_word_text(
        self, job_id: uuid.UUID, segment_index: int, word_index: int, text: str
    ) -> None:
        """Correct one word; its segment's text follows. Originals stay beside the edits."""
        text = " ".join(text.split())
        if not text:
            raise ValueError("a word cannot be empty")
        words = t.words.c
        async with self._edit(job_id) as conn:
            updated = await conn.execute(
                t.words.update()
                .where(words.job_id == job_id, words.segment_idx == segment_index,
                       words.idx == word_index)
                .values(original_text=sa.func.coalesce(words.original_text, words.text),
                        text=text)
            )
            if updated.rowcount == 0:
                raise NotInTranscript(
                    f"job {job_id} has no word {word_index} in segment {segment_index}"
                )
            texts = (
                await conn.execute(
                    sa.select(words.text)
                    .where(words.job_id == job_id, words.segment_idx == segment_index)
                    .order_by(words.idx)
                )
            ).scalars().all()
            seg = t.segments.c
            await conn.execute(
                t.segments.update()
                .where(seg.job_id == job_id, seg.idx == segment_index)
                .values(original_text=sa.func.coalesce(seg.original_text, seg.text),
                        text=" ".join(texts))
            )

    async def write_segments_speaker(
        self, job_id: uuid.UUID, segment_indices: Sequence[int], speaker_id: str
    ) -> None:
        """The segments ``segment_indices`` spoken by ``speaker_id`` (the undo of a merge)."""
        seg = t.segments.c
        async with self._edit(job_id) as conn:
            indices = sorted(set(segment_indices))
            for at in range(0, len(indices), 500):  # bound the parameters of one statement
                chunk = indices[at:at + 500]
                await conn.execute(
                    t.segments.update()
                    .where(seg.job_id == job_id, seg.idx.in_(chunk))
                    .values(original_speaker_id=sa.func.coalesce(seg.original_speaker_id,
                                                                 seg.speaker_id),
                            speaker_id=speaker_id)
                )
            await self._add_speakers(conn, job_id, {speaker_id})

    async def replace_segments(
        self, job_id: uuid.UUID, first: int, count: int, segments: Sequence[Segment]
    ) -> None:
        """Segments ``first`` to ``first + count - 1`` become ``segments`` (retyped, split,
        joined or retimed: domain/editing.py); the later ones move with them. The new words
        go to the word rows, edited ones with ``original_text`` (their corrected original,
        else ""), and the packed words, which would no longer fit, are no longer read."""
        seg, words = t.segments.c, t.words.c
        end = first + count
        async with self._edit(job_id) as conn:
            total = (await conn.execute(
                sa.select(sa.func.count()).where(seg.job_id == job_id))).scalar_one()
            if first < 0 or count < 0 or end > total:
                raise NotInTranscript(f"job {job_id} has no segments {first} to {end - 1}")
            originals = {(start, end_s): text for start, end_s, text in (await conn.execute(
                sa.select(words.start_s, words.end_s, words.original_text).where(
                    words.job_id == job_id, words.segment_idx >= first,
                    words.segment_idx < end, words.original_text.is_not(None))
            ))}
            for table, column in ((t.words, words.segment_idx), (t.segments, seg.idx)):
                await conn.execute(table.delete().where(
                    table.c.job_id == job_id, column >= first, column < end))
                await self._shift(conn, job_id, column, end, len(segments) - count)
            await self._insert_segments(conn, job_id, first, segments, originals)
            await self._add_speakers(conn, job_id, {s.speaker_id for s in segments})
            await conn.execute(t.transcripts.update().where(t.transcripts.c.job_id == job_id)
                               .values(words_packed=None))

    @staticmethod
    async def _shift(
        conn: AsyncConnection, job_id: uuid.UUID, column: sa.Column[int], start: int, by: int
    ) -> None:
        """Indices from ``start`` on moved by ``by``: through negative values, as the key is
        checked row by row and a row would meet its neighbour's old index."""
        if not by:
            return
        table = column.table
        await conn.execute(table.update().where(table.c.job_id == job_id, column >= start)
                           .values({column.name: -(column + by) - 1}))
        await conn.execute(table.update().where(table.c.job_id == job_id, column < 0)
                           .values({column.name: -column - 1}))

    @staticmethod
    async def _insert_segments(
        conn: AsyncConnection, job_id: uuid.UUID, first: int, segments: Sequence[Segment],
        originals: Mapping[Any, str],
    ) -> None:
        if not segments:
            return
        await conn.execute(t.segments.insert(), [
            {"job_id": job_id, "idx": first + i, "start_s": s.start, "end_s": s.end,
             "speaker_id": s.speaker_id, "text": s.text}
            for i, s in enumerate(segments)
        ])
        rows = [
            {"job_id": job_id, "segment_idx": first + i, "idx": j, "text": w.text,
             "original_text": originals.get((w.start, w.end), "") if w.edited else None,
             "start_s": w.start, "end_s": w.end, "volume_db": w.volume_db,
             "pitch_hz": w.pitch_hz, "spectral_centroid": w.spectral_centroid,
             "confidence": w.confidence}
            for i, s in enumerate(segments) for j, w in enumerate(s.words)
        ]
        if rows:
            await conn.execute(t.words.insert(), rows)

    @staticmethod
    async def _add_speakers(
        conn: AsyncConnection, job_id: uuid.UUID, speaker_ids: builtins.set[str]
    ) -> None:
        """A row for each of ``speaker_ids`` the transcript has no row for."""
        known = set((await conn.execute(
            sa.select(t.speakers.c.speaker_id).where(
                t.speakers.c.job_id == job_id, t.speakers.c.speaker_id.in_(speaker_ids))
        )).scalars())
        missing = speaker_ids - known
        if missing:
            await conn.execute(t.speakers.insert(), [
                {"job_id": job_id, "speaker_id": sid} for sid in sorted(missing)])

    async def write_segment_speaker(
        self, job_id: uuid.UUID, segment_index: int, speaker_id: str
    ) -> None:
        speaker_id = speaker_id.strip()
        if not speaker_id:
            raise ValueError("a speaker id cannot be empty")
        seg = t.segments.c
        async with self._edit(job_id) as conn:
            updated = await conn.execute(
                t.segments.update()
                .where(seg.job_id == job_id, seg.idx == segment_index)
                .values(original_speaker_id=sa.func.coalesce(seg.original_speaker_id,
                                                             seg.speaker_id),
                        speaker_id=speaker_id)
            )
            if updated.rowcount == 0:
                raise NotInTranscript(f"job {job_id} has no segment {segment_index}")
            exists = await conn.execute(
                sa.select(t.speakers.c.speaker_id).where(
                    t.speakers.c.job_id == job_id, t.speakers.c.speaker_id == speaker_id
                )
            )
            if exists.first() is None:
                await conn.execute(
                    t.speakers.insert().values(job_id=job_id, speaker_id=speaker_id)
                )


def _unless_unfit(
    convert: Callable[_P, Transcript], *args: _P.args, **kwargs: _P.kwargs
) -> Transcript | None:
    """``convert(...)``, or ``None`` (and a warning) when the packed words do not fit the rows."""
    try:
        return convert(*args, **kwargs)
    except (ValueError, IndexError) as exc:
        log.warning("a transcript's packed words do not fit its rows (%s); reading the rows", exc)
        return None


async def _transcript_of_raw(raw_json: str) -> Transcript | None:
    """A result stored before transcripts were kept as rows (a store migrated from the seed)."""
    def parse() -> Transcript | None:
        try:
            return normalize(json.loads(raw_json))
        except ValueError:
            log.warning("stored result is not a valid transcript; showing none")
            return None

    return await asyncio.to_thread(parse)


def _current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _alembic_upgrade(connection: sa.Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def open_store(url: str, *, migrate: bool = True) -> SqlJobStore:
    """Open the job store at ``url`` (``sqlite+aiosqlite:///...`` or ``postgresql+psycopg://``)."""
    return await SqlJobStore.open(url, migrate=migrate)
