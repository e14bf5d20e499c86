"""``TranscriptEdits``: the user's corrections of a transcript, written to its rows.

The raw result is never touched; each edited row keeps what the result said beside it
(``original_text``, ``original_speaker_id``), the transcript's ``edited_at`` is set, and the
team is told (``pg_notify``) on commit.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ecg_desktop.domain import JobNotFound, Segment
from ecg_desktop.domain.job import utcnow

from . import schema as t
from .database import SqlDatabase
from .errors import NotInTranscript


class TranscriptEdits(SqlDatabase):
    """Speaker renames and merges, word corrections, segment speakers, replaced segments."""

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

    async def write_segment_speaker(
        self, job_id: uuid.UUID, segment_index: int, speaker_id: str
    ) -> None:
        """Segment ``segment_index`` spoken by ``speaker_id`` (a new id gets a speaker row)."""
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
            await self._add_speakers(conn, job_id, {speaker_id})

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
    async def _require_job(conn: AsyncConnection, job_id: uuid.UUID) -> None:
        found = await conn.execute(sa.select(t.jobs.c.job_id).where(t.jobs.c.job_id == job_id))
        if found.first() is None:
            raise JobNotFound(job_id)

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
