"""The transcript model and ``normalize()``: every result variant of PROTOCOL.md 3.2 in, one
canonical form (3.1) out.

``normalize`` is pure and idempotent: ``normalize(to_canonical(normalize(raw)))`` equals
``normalize(raw)``. It drops silence fillers, never a spoken word, and keeps times ordered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import fmean
from typing import Any

from .errors import InvalidResult

DEFAULT_SPEAKER = "SPEAKER_00"
SILENCE_MARKERS = frozenset({"", "[SILENCE]", "[silence]", "<sil>"})
# The original WhisperX server sent these on every word instead of measuring.
PLACEHOLDER_FEATURES = (-20.0, 150.0, 1500.0)
FEATURE_KEYS = ("volume_db", "pitch_hz", "spectral_centroid")


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start: float
    end: float
    volume_db: float | None = None
    pitch_hz: float | None = None
    spectral_centroid: float | None = None
    confidence: float | None = None
    edited: bool = False  # typed, retimed or placed by the user (domain/editing.py)


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    speaker_id: str
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, slots=True)
class SpeakerStats:
    speaker_id: str
    name: str
    speaking_time: float
    segment_count: int
    word_count: int
    mean_pitch_hz: float | None
    pitch_range_hz: tuple[float, float] | None
    mean_volume_db: float | None


@dataclass(frozen=True, slots=True)
class Transcript:
    segments: tuple[Segment, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    speaker_names: Mapping[str, str] = field(default_factory=dict)
    features_measured: bool = True

    @property
    def speaker_ids(self) -> list[str]:
        """Speakers in order of first appearance."""
        return list(dict.fromkeys(s.speaker_id for s in self.segments))

    @property
    def duration(self) -> float:
        declared = self.metadata.get("duration")
        last = max((s.end for s in self.segments), default=0.0)
        return float(declared) if isinstance(declared, int | float) and declared >= last else last

    def words(self) -> Iterable[tuple[int, Word]]:
        """Every word with the index of its segment, in time order."""
        for index, segment in enumerate(self.segments):
            for word in segment.words:
                yield index, word

    def display_name(self, speaker_id: str) -> str:
        return self.speaker_names.get(speaker_id) or speaker_id

    def speaker_stats(self) -> list[SpeakerStats]:
        return [self._stats_for(sid) for sid in self.speaker_ids]

    def _stats_for(self, speaker_id: str) -> SpeakerStats:
        segments = [s for s in self.segments if s.speaker_id == speaker_id]
        words = [w for s in segments for w in s.words]
        pitches = [w.pitch_hz for w in words if w.pitch_hz is not None]
        volumes = [w.volume_db for w in words if w.volume_db is not None]
        return SpeakerStats(
            speaker_id=speaker_id,
            name=self.display_name(speaker_id),
            speaking_time=round(sum(s.end - s.start for s in segments), 3),
            segment_count=len(segments),
            word_count=len(words),
            mean_pitch_hz=round(fmean(pitches), 2) if pitches else None,
            pitch_range_hz=(min(pitches), max(pitches)) if pitches else None,
            mean_volume_db=round(fmean(volumes), 2) if volumes else None,
        )

    def with_speaker_names(self, names: Mapping[str, str]) -> Transcript:
        return replace(self, speaker_names=dict(names))


# -- normalisation -----------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, loc: Sequence[str | int], msg: str) -> None:
        self.items.append({"loc": list(loc), "msg": msg})


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _time(item: Mapping[str, Any], name: str) -> float | None:
    value = item.get(name)
    if value is None:
        value = item.get(f"{name}_time")
    return _number(value)


def _speaker_of(segment: Mapping[str, Any]) -> str:
    speaker = segment.get("speaker")
    if isinstance(speaker, Mapping):
        speaker = speaker.get("speaker_id") or speaker.get("id")
    if speaker is None:
        speaker = segment.get("speaker_id")
    return str(speaker) if speaker not in (None, "") else DEFAULT_SPEAKER


def _features(word: Mapping[str, Any]) -> dict[str, float | None]:
    nested = word.get("acoustic_features")
    source = nested if isinstance(nested, Mapping) else word
    return {key: _number(source.get(key, word.get(key))) for key in FEATURE_KEYS}


def _is_silence(text: str) -> bool:
    return text.strip() in SILENCE_MARKERS


def _clean_text(text: str) -> str:
    for marker in ("[SILENCE]", "[silence]", "<sil>"):
        text = text.replace(marker, " ")
    return " ".join(text.split())


def _words_of(
    raw_words: Any, seg_start: float, seg_end: float, loc: list[str | int], errors: _Errors
) -> list[Word]:
    if raw_words is None:
        return []
    if not isinstance(raw_words, list):
        errors.add([*loc, "words"], "must be a list")
        return []
    words: list[Word] = []
    for index, raw in enumerate(raw_words):
        here = [*loc, "words", index]
        if not isinstance(raw, Mapping):
            errors.add(here, "must be an object")
            continue
        text = raw.get("word", raw.get("text"))
        if not isinstance(text, str):
            errors.add(here, "word text missing")
            continue
        if _is_silence(text):
            continue
        start, end = _time(raw, "start"), _time(raw, "end")
        if start is not None and end is not None and end < start:
            errors.add(here, f"end {end} before start {start}")
            continue
        # Aligners leave some tokens (numerals, symbols) without times: place them between
        # their neighbours rather than dropping a spoken word.
        prev_end = words[-1].end if words else seg_start
        start = prev_end if start is None else start
        end = max(start, seg_end if end is None else end)
        start = min(max(start, seg_start), seg_end)
        end = min(max(end, start), seg_end)
        confidence = _number(raw.get("confidence", raw.get("score")))
        edited = raw.get("edited") is True
        words.append(Word(text.strip(), start, end, confidence=confidence, edited=edited,
                          **_features(raw)))
    words.sort(key=lambda w: (w.start, w.end))
    return words


def _segments_of(raw_segments: Any, errors: _Errors) -> list[Segment]:
    if not isinstance(raw_segments, list):
        errors.add(["segments"], "must be a list")
        return []
    segments: list[Segment] = []
    for index, raw in enumerate(raw_segments):
        loc: list[str | int] = ["segments", index]
        if not isinstance(raw, Mapping):
            errors.add(loc, "must be an object")
            continue
        start, end = _time(raw, "start"), _time(raw, "end")
        if start is None or end is None:
            errors.add(loc, "start and end times are required")
            continue
        if start < 0 or end < start:
            errors.add(loc, f"times run backwards or negative ({start} - {end})")
            continue
        words = _words_of(raw.get("words"), start, end, loc, errors)
        raw_text = raw.get("text")
        text = _clean_text(raw_text) if isinstance(raw_text, str) else ""
        if not text and words:
            text = _clean_text(" ".join(w.text for w in words))
        if not text and not words:
            continue  # a pure silence segment
        segments.append(Segment(start, end, _speaker_of(raw), text, tuple(words)))
    segments.sort(key=lambda s: (s.start, s.end))
    return segments


def _has_placeholder_features(segments: Sequence[Segment]) -> bool:
    features = {
        (w.volume_db, w.pitch_hz, w.spectral_centroid) for s in segments for w in s.words
    }
    return bool(features) and features <= {PLACEHOLDER_FEATURES}


def _without_features(segment: Segment) -> Segment:
    words = tuple(
        replace(w, volume_db=None, pitch_hz=None, spectral_centroid=None) for w in segment.words
    )
    return replace(segment, words=words)


def normalize(raw: Any) -> Transcript:
    """The canonical transcript of any result variant; raises ``InvalidResult``."""
    errors = _Errors()
    if not isinstance(raw, Mapping):
        raise InvalidResult([{"loc": [], "msg": "result must be an object"}])
    segments = _segments_of(raw.get("segments"), errors)
    if errors.items:
        raise InvalidResult(errors.items)

    raw_meta = raw.get("metadata")
    metadata: dict[str, Any] = dict(raw_meta) if isinstance(raw_meta, Mapping) else {}
    measured = metadata.get("features_measured") is not False
    if _has_placeholder_features(segments):
        measured = False
    if not measured:
        segments = [_without_features(s) for s in segments]
    for key, target in (("duration", "duration"), ("language", "language_detected")):
        if key in raw and target not in metadata:
            metadata[target] = raw[key]
    last_end = max((s.end for s in segments), default=0.0)
    duration = _number(metadata.get("duration"))
    metadata["duration"] = duration if duration is not None and duration >= last_end else last_end
    metadata["total_segments"] = len(segments)
    metadata["unique_speakers"] = len({s.speaker_id for s in segments})
    metadata["features_measured"] = measured

    # Names only for speakers who speak: the canonical form lists no one else, and a
    # name kept for nobody would make normalising twice differ from normalising once.
    speaking = {s.speaker_id for s in segments}
    names: dict[str, str] = {}
    raw_speakers = raw.get("speakers")
    if isinstance(raw_speakers, Mapping):
        for sid, info in raw_speakers.items():
            name = info.get("name") if isinstance(info, Mapping) else None
            if isinstance(name, str) and name and str(sid) in speaking:
                names[str(sid)] = name
    return Transcript(tuple(segments), metadata, names, measured)


def _word_dict(word: Word) -> dict[str, Any]:
    out: dict[str, Any] = {"word": word.text, "start": word.start, "end": word.end}
    out.update(
        volume_db=word.volume_db, pitch_hz=word.pitch_hz, spectral_centroid=word.spectral_centroid
    )
    if word.confidence is not None:
        out["confidence"] = word.confidence
    if word.edited:
        out["edited"] = True
    return out


def to_canonical(transcript: Transcript) -> dict[str, Any]:
    """The canonical result (PROTOCOL.md 3.1) of a transcript, speaker names included."""
    speakers: dict[str, dict[str, Any]] = {}
    for stats in transcript.speaker_stats():
        entry: dict[str, Any] = {
            "total_duration": stats.speaking_time,
            "segment_count": stats.segment_count,
            "mean_pitch_hz": stats.mean_pitch_hz,
            "mean_volume_db": stats.mean_volume_db,
        }
        if stats.pitch_range_hz is not None:
            entry["pitch_range_hz"] = list(stats.pitch_range_hz)
        if stats.speaker_id in transcript.speaker_names:
            entry["name"] = transcript.speaker_names[stats.speaker_id]
        speakers[stats.speaker_id] = entry
    return {
        "metadata": dict(transcript.metadata),
        "speakers": speakers,
        "segments": [
            {
                "start": s.start,
                "end": s.end,
                "speaker": {"speaker_id": s.speaker_id},
                "text": s.text,
                "words": [_word_dict(w) for w in s.words],
            }
            for s in transcript.segments
        ],
    }


def word_starts(transcript: Transcript) -> list[float]:
    """Start times of every word in order: the key for ``bisect`` during playback."""
    return [w.start for _, w in transcript.words()]

