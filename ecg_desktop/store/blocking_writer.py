"""A blocking connection to the job store, for a worker process that has no event loop.

A big ``completed`` callback is parsed, normalised and stored in a worker process so that the
app's event loop (and the GUI drawing on it) never waits for the work or for the GIL. The
worker writes with this class: the same tables, the same rows and the same locking as
``SqlJobStore.update`` (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on
PostgreSQL, the result and the job's move in one transaction, ``pg_notify`` on commit).

``BlockingWriterFactory(url)`` is what crosses to the worker: it pickles to its URL and opens
the writer there.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa

from ecg_desktop.app.ports import ResultRecord, result_json_text
from ecg_desktop.domain import Job, JobNotFound
from ecg_desktop.domain.job import utcnow

from . import schema as t
from .engine import (
    WRITE_OPTION,
    create_blocking_engine,
    normalize_url,
    parse_url,
    sqlite_path,
    translate,
)
from .errors import StoreUnavailable
from .notify import JOBS_CHANNEL
from .rows import (
    SEGMENT_COLUMNS,
    SPEAKER_COLUMNS,
    WORD_COLUMNS,
    TranscriptRows,
    changed_row,
    copy_text,
    job_to_row,
    row_to_job,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _PreparedResult:
    raw_json: str
    rows: TranscriptRows


def _prepare_result(job_key: object, result: ResultRecord) -> _PreparedResult:
    """The raw JSON (as received when the record carries it) and the transcript's rows."""
    return _PreparedResult(
        raw_json=result.raw_json if result.raw_json is not None else result_json_text(result.raw),
        rows=TranscriptRows(job_key, result.transcript),
    )


@dataclass(frozen=True, slots=True)
class BlockingWriterFactory:
    """Opens a ``BlockingJobWriter`` on ``url`` (picklable; the URL never shows in a repr)."""

    url: str = field(repr=False)

    def __call__(self) -> BlockingJobWriter:
        return BlockingJobWriter(self.url)


class BlockingJobWriter:
    """``get`` and ``update`` of ``SqlJobStore``, synchronous, on one database."""

    def __init__(self, url: str, *, connections: int = 1) -> None:
        self._url = normalize_url(url)
        parsed = parse_url(self._url)
        self._sqlite_path = sqlite_path(parsed)
        self._is_postgresql = parsed.get_backend_name() == "postgresql"
        self._engine = create_blocking_engine(parsed, connections=connections)

    def close(self) -> None:
        self._engine.dispose()

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sa.Connection]:
        try:
            with self._engine.connect() as conn:
                if write:
                    conn = conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except (sa.exc.SQLAlchemyError, OSError, TimeoutError) as exc:
            translated = translate(exc, self._url, self._sqlite_path)
            if translated is None:
                raise
            raise translated from exc

    def get(self, job_id: uuid.UUID) -> Job:
        row = self._run(
            lambda conn: conn.execute(
                sa.select(t.jobs).where(t.jobs.c.job_id == job_id)
            ).mappings().first(),
            write=False,
        )
        if row is None:
            raise JobNotFound(job_id)
        return row_to_job(row)

    def update(
        self,
        job_id: uuid.UUID,
        change: Callable[[Job], None],
        *,
        result: ResultRecord | None = None,
    ) -> Job:
        """As ``SqlJobStore.update``: lock, load, ``change`` (which may raise and so roll back),
        write the job and, with ``result``, its raw JSON and transcript rows, in one
        transaction."""
        prepared = None
        if result is not None:
            prepared = _prepare_result(job_id if self._is_postgresql else job_id.hex, result)
        return self._run(lambda conn: self._update(conn, job_id, change, prepared))

    def _update(
        self,
        conn: sa.Connection,
        job_id: uuid.UUID,
        change: Callable[[Job], None],
        prepared: _PreparedResult | None,
    ) -> Job:
        row = conn.execute(
            sa.select(t.jobs).where(t.jobs.c.job_id == job_id).with_for_update()
        ).mappings().first()
        if row is None:
            raise JobNotFound(job_id)
        job, values = changed_row(row, change)
        if prepared is not None:
            values["result"] = prepared.raw_json
            self._replace_transcript(conn, job_id, prepared.rows)
        conn.execute(t.jobs.update().where(t.jobs.c.job_id == job_id).values(**values))
        if self._is_postgresql:
            conn.execute(sa.select(sa.func.pg_notify(JOBS_CHANNEL, str(job_id))))
        return job

    def update_many(
        self, changes: Mapping[uuid.UUID, Callable[[Job], None]]
    ) -> dict[uuid.UUID, Job | Exception]:
        """``SqlJobStore.update_many``, blocking (see there)."""
        if not changes:
            return {}
        return self._run(lambda conn: self._update_many(conn, changes))

    def _update_many(
        self, conn: sa.Connection, changes: Mapping[uuid.UUID, Callable[[Job], None]]
    ) -> dict[uuid.UUID, Job | Exception]:
        ids = sorted(changes)
        outcome: dict[uuid.UUID, Job | Exception] = {}
        rows = conn.execute(
            sa.select(t.jobs)
            .where(t.jobs.c.job_id.in_(ids))
            .order_by(t.jobs.c.job_id)
            .with_for_update()
        ).mappings().all()
        found = {row["job_id"]: row for row in rows}
        writes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for job_id in ids:
            row = found.get(job_id)
            if row is None:
                outcome[job_id] = JobNotFound(job_id)
                continue
            job = row_to_job(row)
            before = job_to_row(job)
            try:
                changes[job_id](job)
            except Exception as exc:  # reported for this job only; the others go on
                outcome[job_id] = exc
                continue
            job.updated_at = max(job.updated_at, utcnow())
            # Only the columns the change touched: far fewer values to bind per job.
            values = {k: v for k, v in job_to_row(job).items() if v != before[k]}
            values["b_job_id"] = job_id
            values["version"] = row["version"] + 1
            writes.setdefault(tuple(sorted(values)), []).append(values)
            outcome[job_id] = job
        for group in writes.values():
            conn.execute(
                t.jobs.update().where(t.jobs.c.job_id == sa.bindparam("b_job_id")), group
            )
        if writes and self._is_postgresql:
            written = [str(w["b_job_id"]) for group in writes.values() for w in group]
            conn.execute(
                sa.text("SELECT pg_notify(:channel, job_id)"
                        " FROM unnest(CAST(:ids AS text[])) AS job_id"),
                {"channel": JOBS_CHANNEL, "ids": written},
            )
        return outcome

    def _run(self, work: Callable[[sa.Connection], _T], *, write: bool = True) -> _T:
        """``work`` in one transaction. A pooled connection found dead (the server
        restarted) is replaced and the transaction run once more: cheaper than checking
        every connection before use, which cost a round trip per transaction."""
        for attempt in (1, 2):
            try:
                with self._transaction(write=write) as conn:
                    return work(conn)
            except StoreUnavailable as exc:
                cause = exc.__cause__
                stale = isinstance(cause, sa.exc.DBAPIError) and cause.connection_invalidated
                if attempt == 2 or not stale:
                    raise
                log.info("a pooled connection to the job store had closed; retrying once")
        raise AssertionError("unreachable")

    def _replace_transcript(
        self, conn: sa.Connection, job_id: uuid.UUID, rows: TranscriptRows
    ) -> None:
        for table in (t.words, t.segments, t.speakers, t.transcripts):
            conn.execute(table.delete().where(table.c.job_id == job_id))
        conn.execute(
            t.transcripts.insert().values(
                job_id=job_id,
                metadata=rows.metadata,
                features_measured=rows.features_measured,
                words_packed=rows.packed_words,
                stored_at=utcnow(),
            )
        )
        for table, columns, batch in (
            (t.speakers, SPEAKER_COLUMNS, rows.speakers),
            (t.segments, SEGMENT_COLUMNS, rows.segments),
            (t.words, WORD_COLUMNS, rows.words),
        ):
            if not batch:
                continue
            if self._is_postgresql:
                driver: Any = conn.connection.driver_connection
                statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
                with driver.cursor() as cursor, cursor.copy(statement) as copy:
                    copy.write(copy_text(batch))
            else:
                placeholders = ", ".join(["?"] * len(columns))
                conn.exec_driver_sql(
                    f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})",
                    batch,
                )
