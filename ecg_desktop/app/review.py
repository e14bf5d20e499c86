"""Use cases of transcript review: load a job's transcript and edit it.

The review pane never writes to the job store itself: each edit goes through one of these
methods, which writes through the ``JobStore`` port (the raw result stays untouched beside the
edits) and then publishes ``TranscriptChanged`` so that other views and exports refresh.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.ports import JobStore
from ecg_desktop.domain import Transcript, TranscriptChanged
from ecg_desktop.domain.editing import SegmentsEdit

logger = logging.getLogger(__name__)


class TranscriptEditor:
    """Reads and edits the transcripts of completed jobs."""

    def __init__(self, store: JobStore, bus: EventBus) -> None:
        self._store = store
        self._bus = bus

    async def load(self, job_id: uuid.UUID) -> Transcript | None:
        """The transcript with the user's edits, or ``None`` if the job has no result."""
        return await self._store.get_transcript(job_id)

    async def raw_result(self, job_id: uuid.UUID) -> Mapping[str, Any] | None:
        return await self._store.get_raw_result(job_id)

    async def rename_speaker(self, job_id: uuid.UUID, speaker_id: str, name: str) -> None:
        name = " ".join(name.split())
        if not name:
            raise ValueError("a speaker's name cannot be empty")
        await self._store.rename_speaker(job_id, speaker_id, name)
        logger.info("job %s: speaker %s renamed", job_id, speaker_id)
        self._bus.publish(TranscriptChanged(job_id))

    async def merge_speakers(self, job_id: uuid.UUID, source_id: str, target_id: str) -> None:
        if source_id == target_id:
            raise ValueError("cannot merge a speaker into itself")
        await self._store.merge_speakers(job_id, source_id, target_id)
        logger.info("job %s: speaker %s merged into %s", job_id, source_id, target_id)
        self._bus.publish(TranscriptChanged(job_id))

    async def unmerge_speakers(
        self, job_id: uuid.UUID, source_id: str, rows: Sequence[int], name: str | None
    ) -> None:
        """Undo a merge: the segments ``rows`` are ``source_id``'s again, with its name."""
        await self._store.write_segments_speaker(job_id, rows, source_id)
        if name:
            await self._store.rename_speaker(job_id, source_id, name)
        logger.info("job %s: speaker %s split off again", job_id, source_id)
        self._bus.publish(TranscriptChanged(job_id))

    async def apply(self, job_id: uuid.UUID, edit: SegmentsEdit) -> None:
        """Store an edit of domain/editing.py (retype, split, join, retime, speaker)."""
        await self._store.replace_segments(job_id, edit.first, len(edit.old), edit.new)
        self._bus.publish(TranscriptChanged(job_id))

    async def set_word_text(
        self, job_id: uuid.UUID, segment_index: int, word_index: int, text: str
    ) -> None:
        text = text.strip()
        if not text:
            raise ValueError("a word cannot be empty")
        await self._store.set_word_text(job_id, segment_index, word_index, text)
        self._bus.publish(TranscriptChanged(job_id))

    async def save_segment_speaker(
        self, job_id: uuid.UUID, segment_index: int, speaker_id: str
    ) -> None:
        if not speaker_id.strip():
            raise ValueError("a speaker id cannot be empty")
        await self._store.write_segment_speaker(job_id, segment_index, speaker_id.strip())
        self._bus.publish(TranscriptChanged(job_id))
