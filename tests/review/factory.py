"""Generated results in both wire shapes (PROTOCOL.md 3.1 and the original server's), for
the review tests and the review benchmark."""

from __future__ import annotations

import random
from typing import Any

_ENGLISH = (
    "we should all go see a musical tonight because the tickets are cheap and the show is "
    "supposed to be wonderful I think my sister saw it last week she said the songs were "
    "great but the second act was a little long what do you think about that idea maybe "
    "after dinner we could walk there it is not far from the station"
)
_KOREAN = "우리 모두 오늘 밤 뮤지컬을 보러 가면 좋겠어요 표가 싸고 공연이 정말 훌륭하대요"
WORDS = tuple(_ENGLISH.split(" "))
KOREAN = tuple(_KOREAN.split(" "))


def analyzer_result(
    segments: int = 12,
    *,
    speakers: int = 2,
    words_per_segment: tuple[int, int] = (4, 14),
    seed: int = 7,
    vocabulary: tuple[str, ...] | list[str] = WORDS,
    start: float = 0.5,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The reference analyzer's canonical result: measured loudness, pitch, centroid."""
    rng = random.Random(seed)
    time = start
    out_segments: list[dict[str, Any]] = []
    for index in range(segments):
        speaker = index % speakers if speakers <= 2 else rng.randrange(speakers)
        base_pitch = 110.0 + 90.0 * (speaker % 2) + 15.0 * (speaker // 2)
        words: list[dict[str, Any]] = []
        seg_start = time
        for _ in range(rng.randint(*words_per_segment)):
            duration = rng.uniform(0.15, 0.5)
            voiced = rng.random() > 0.08
            words.append({
                "word": rng.choice(vocabulary),
                "start": round(time, 3),
                "end": round(time + duration, 3),
                "volume_db": round(rng.uniform(-38.0, -12.0), 2),
                "pitch_hz": round(base_pitch + rng.uniform(-25, 25), 2) if voiced else None,
                "spectral_centroid": round(rng.uniform(900, 2600), 1),
                "confidence": round(rng.uniform(0.6, 1.0), 2),
            })
            time += duration + rng.uniform(0.02, 0.12)
        out_segments.append({
            "start": round(seg_start, 3),
            "end": round(time, 3),
            "speaker": {"speaker_id": f"SPEAKER_{speaker:02d}"},
            "text": " ".join(w["word"] for w in words),
            "words": words,
        })
        time += rng.uniform(0.3, 1.2)
    speaker_ids = sorted({s["speaker"]["speaker_id"] for s in out_segments})
    return {
        "metadata": {
            "filename": "meeting.mp4", "duration": round(time + 0.5, 3),
            "total_segments": segments, "unique_speakers": len(speaker_ids),
            "language_requested": "auto", "language_detected": "en",
            "model_version": "reference-analyzer", "features_measured": True,
        },
        "speakers": {
            sid: ({"name": names[sid]} if names and sid in names else {})
            for sid in speaker_ids
        },
        "segments": out_segments,
    }


def whisperx_result(segments: int = 12, *, speakers: int = 2, seed: int = 11) -> dict[str, Any]:
    """The original WhisperX server's shape: ``start_time``/``end_time``, features nested in
    ``acoustic_features`` with its placeholder constants, silence fillers, ``word_segments``."""
    canonical = analyzer_result(segments, speakers=speakers, seed=seed)
    out_segments = []
    word_segments = []
    for segment in canonical["segments"]:
        words = []
        for word in segment["words"]:
            words.append({
                "word": word["word"], "start_time": word["start"], "end_time": word["end"],
                "confidence": word["confidence"],
                "acoustic_features": {"volume_db": -20.0, "pitch_hz": 150.0,
                                      "spectral_centroid": 1500.0},
            })
            word_segments.append({"word": word["word"], "start": word["start"],
                                  "end": word["end"], "score": word["confidence"],
                                  "speaker_id": segment["speaker"]["speaker_id"]})
        words.insert(1, {"word": " ", "start_time": words[0]["end_time"],
                         "end_time": words[0]["end_time"],
                         "acoustic_features": {"volume_db": -20.0, "pitch_hz": 150.0,
                                               "spectral_centroid": 1500.0}})
        out_segments.append({
            "start_time": segment["start"], "end_time": segment["end"],
            "speaker": segment["speaker"]["speaker_id"],
            "text": segment["text"] + " [SILENCE]",
            "words": words,
        })
    return {
        "segments": out_segments,
        "word_segments": word_segments,
        "language": "en",
        "duration": canonical["metadata"]["duration"],
        "text": " ".join(s["text"] for s in canonical["segments"]),
    }
