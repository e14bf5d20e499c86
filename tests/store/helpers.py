"""Results shaped like the ones the store receives."""

from __future__ import annotations

from typing import Any

from ecg_desktop.app.ports import ResultRecord
from ecg_desktop.domain import normalize


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
