"""Results shaped like the ones the store receives, and completed jobs holding them."""

from __future__ import annotations

import uuid
from typing import Any

from ecg_desktop.app.ports import JobStore, ResultRecord
from ecg_desktop.domain import Job, normalize


def make_result(segments: int = 4, words_per_segment: int = 5, speakers: int = 2) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    clock = 0.0
    for s in range(segments):
        start = clock
        words = []
        for w in range(words_per_segment):
            words.append({
                "word": f"word{s}_{w}", "start": round(clock, 3), "end": round(clock + 0.2, 3),
                "volume_db": -18.0 - w, "pitch_hz": 110.0 + s + w if w % 3 else None,
                "spectral_centroid": 1300.0 + w, "confidence": 0.9,
            })
            clock += 0.25
        out.append({
            "start": round(start, 3), "end": round(clock, 3),
            "speaker": {"speaker_id": f"SPEAKER_{s % speakers:02d}"},
            "text": " ".join(str(w["word"]) for w in words), "words": words,
        })
    return {"metadata": {"filename": "talk.mp4", "language_detected": "en"}, "segments": out}


def record(raw: dict[str, Any]) -> ResultRecord:
    return ResultRecord(raw, normalize(raw))


async def completed_job(store: JobStore, raw: dict[str, Any]) -> uuid.UUID:
    """A job that went through dispatch and completed with ``raw`` as its result."""
    job = Job.new(filename="talk.mp4")
    await store.add(job)
    await store.update(job.job_id, lambda j: j.start_dispatch())
    await store.update(job.job_id, lambda j: j.complete(2), result=record(raw))
    return job.job_id
