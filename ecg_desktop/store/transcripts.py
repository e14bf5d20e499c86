"""``TranscriptReads``: a job's transcript (edits laid over it), raw result and word edits.

A transcript is read with the driver's own cursor, which answers plain tuples, and decoded
in a worker thread: from the packed words when they fit the rows (``packed.py``), else from
the word rows, else (a store migrated from the seed) from the raw result.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ecg_desktop.domain import JobNotFound, Transcript, normalize

from . import schema as t
from .database import SqlDatabase
from .rows import packed_to_transcript, rows_to_transcript

log = logging.getLogger(__name__)
_P = ParamSpec("_P")

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


class TranscriptReads(SqlDatabase):
    """Reading what ``BlockingJobWriter`` stored for a result and what the user edited."""

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
