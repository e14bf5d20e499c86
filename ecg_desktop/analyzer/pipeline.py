"""The analysis of one audio file: decode, recognise, measure, diarize, assemble.

Runs inside the worker process. ``progress(percent, message)`` is called often; the server
throttles what it forwards.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

import numpy as np

from ecg_desktop import __version__
from ecg_desktop.domain import ErrorCode, Segment, Transcript, Word, to_canonical

from .asr import (
    BackendPaths,
    Recognition,
    RecognizedWord,
    WhisperRuntime,
    choose_backend,
    make_recognizer,
)
from .diarization import Turn, diarize, speech_mask, speech_regions
from .errors import AnalysisError
from .features import FrameAnalysis, analyse_frames, frame_energy_db, word_features
from .media import SAMPLE_RATE, decode_audio

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
SEGMENT_PAUSE_S = 1.0
EDGE_S = 0.05
MAX_SEGMENT_S = 30.0

# Percent ranges of each stage (the download, done by the server, takes 0-10).
STAGES = {
    "decode": (10.0, 15.0, "Extracting audio"),
    "recognition": (15.0, 80.0, "Recognising speech"),
    "features": (80.0, 88.0, "Measuring loudness and pitch"),
    "diarization": (88.0, 96.0, "Identifying speakers"),
    "assemble": (96.0, 99.0, "Assembling the transcript"),
}


@dataclass(frozen=True)
class AnalysisOptions:
    language: str = "auto"
    transcript: str | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    filename: str = ""
    paths: BackendPaths = field(default_factory=BackendPaths)
    runtime: WhisperRuntime = field(default_factory=WhisperRuntime)
    model: str | None = None  # a Whisper model name from the request; None: the configured one


class _Stages:
    """Turns per-stage fractions into overall percent and records each stage's duration."""

    def __init__(self, progress: ProgressFn) -> None:
        self._progress = progress
        self.times: dict[str, float] = {}
        self.cpu_times: dict[str, float] = {}

    def run(self, stage: str, work: Callable[[Callable[[float], None]], Any]) -> Any:
        low, high, message = STAGES[stage]
        self._progress(low, message)

        def report(fraction: float) -> None:
            self._progress(low + (high - low) * min(max(fraction, 0.0), 1.0), message)

        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return work(report)
        finally:
            self.times[stage] = round(time.perf_counter() - started, 3)
            self.cpu_times[stage] = round(time.process_time() - cpu_started, 3)


def analyse_file(path: Path, options: AnalysisOptions, progress: ProgressFn) -> dict[str, Any]:
    """The canonical result (PROTOCOL 3.1) for the media file at ``path``."""
    started = time.perf_counter()
    aligning = bool(options.transcript and options.transcript.strip())
    # Before decoding: a job for a model that is not installed fails at once.
    choice = choose_backend(options.language, options.paths, aligning=aligning, model=options.model)
    notes = list(choice.notes)
    if options.transcript and not aligning:
        notes.append("the transcript was empty: free recognition was used")
    stages = _Stages(progress)
    audio: np.ndarray = stages.run("decode", lambda report: decode_audio(path, report))
    duration = len(audio) / SAMPLE_RATE
    labels: list[str] = []

    def recognise(report: Callable[[float], None]) -> Recognition:
        mask = speech_mask(frame_energy_db(audio))
        recognizer = make_recognizer(choice, options.paths, options.runtime)
        labels.append(recognizer.model_version)
        try:
            if aligning and hasattr(recognizer, "align"):
                return recognizer.align(audio, options.transcript or "", report)  # type: ignore[no-any-return]
            return recognizer.recognize(audio, speech_regions(mask), report)
        except AnalysisError:
            raise
        except Exception as exc:
            logger.exception("recognition failed")
            raise AnalysisError(
                ErrorCode.TRANSCRIPTION_ERROR, f"recognition failed: {exc}"
            ) from exc

    recognition: Recognition = stages.run("recognition", recognise)
    notes.extend(recognition.notes)
    model_version = f"ecg-analyzer {__version__} ({labels[0]}, {recognition.mode})"

    frames: FrameAnalysis = stages.run("features", lambda report: analyse_frames(audio))

    def find_speakers(report: Callable[[float], None]) -> list[Turn]:
        try:
            return diarize(
                frames,
                speech_mask(frames.energy_db),
                min_speakers=options.min_speakers,
                max_speakers=options.max_speakers,
            )
        except Exception as exc:
            logger.exception("diarization failed")
            raise AnalysisError(ErrorCode.DIARIZATION_ERROR, f"diarization failed: {exc}") from exc

    turns: list[Turn] = stages.run("diarization", find_speakers)

    def assemble(report: Callable[[float], None]) -> dict[str, Any]:
        segments = build_segments(
            recognition.words, turns, frames, clip_to_speech=recognition.mode != "alignment"
        )
        metadata: dict[str, Any] = {
            "filename": options.filename,
            "duration": round(duration, 3),
            "language_requested": options.language,
            "language_detected": recognition.language,
            "model_version": model_version,
            "backend": choice.name,
            **recognition.details,
            "mode": recognition.mode,
            "features_measured": True,
        }
        if notes:
            metadata["notes"] = notes
        return _canonical(Transcript(tuple(segments), metadata), turns)

    result: dict[str, Any] = stages.run("assemble", assemble)
    result["metadata"]["processing_time"] = round(time.perf_counter() - started, 3)
    result["metadata"]["stage_times"] = stages.times
    result["metadata"]["stage_cpu_times"] = stages.cpu_times
    result["metadata"]["processed_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return result


def _speaker_of(word: RecognizedWord, turns: Sequence[Turn]) -> int:
    best, best_overlap = None, 0.0
    for turn in turns:
        overlap = min(word.end, turn.end) - max(word.start, turn.start)
        if overlap > best_overlap:
            best, best_overlap = turn.speaker, overlap
    if best is not None:
        return best
    middle = (word.start + word.end) / 2
    nearest = min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle)))
    return nearest.speaker


def _inside_speech(word: RecognizedWord, turns: Sequence[Turn]) -> RecognizedWord:
    """The word clipped to the speech turn it overlaps most, give or take ``EDGE_S`` (a free
    recogniser stretches words over silence; the energy detector misses soft onsets)."""
    best: Turn | None = None
    best_overlap = 0.0
    for turn in turns:
        overlap = min(word.end, turn.end) - max(word.start, turn.start)
        if overlap > best_overlap:
            best, best_overlap = turn, overlap
    if best is None:
        return word
    start = max(word.start, best.start - EDGE_S)
    end = min(word.end, best.end + EDGE_S)
    return RecognizedWord(word.text, round(start, 3), round(max(start, end), 3), word.confidence)


def build_segments(
    words: Sequence[RecognizedWord],
    turns: Sequence[Turn],
    frames: FrameAnalysis,
    *,
    clip_to_speech: bool = True,
) -> list[Segment]:
    """Words grouped by speaker, split at speaker changes and long pauses. Aligned words
    (``clip_to_speech=False``) keep the aligner's times."""
    if not words:
        return []
    if not turns:
        turns = [Turn(0.0, len(frames.audio) / SAMPLE_RATE, 0)]
    groups: list[tuple[int, list[Word]]] = []
    for raw in sorted(words, key=lambda w: (w.start, w.end)):
        word = _inside_speech(raw, turns) if clip_to_speech else raw
        speaker = _speaker_of(word, turns)
        measured = word_features(frames, word.start, word.end)
        item = Word(
            word.text,
            word.start,
            word.end,
            volume_db=measured.volume_db,
            pitch_hz=measured.pitch_hz,
            spectral_centroid=measured.spectral_centroid,
            confidence=word.confidence,
        )
        if groups:
            last_speaker, last_words = groups[-1]
            same = last_speaker == speaker
            pause = item.start - last_words[-1].end
            long = item.end - last_words[0].start > MAX_SEGMENT_S
            if same and pause < SEGMENT_PAUSE_S and not long:
                last_words.append(item)
                continue
        groups.append((speaker, [item]))
    order: dict[int, str] = {}
    segments = []
    for speaker, group in groups:
        speaker_id = order.setdefault(speaker, f"SPEAKER_{len(order):02d}")
        start = group[0].start
        end = max(w.end for w in group)
        text = " ".join(w.text for w in group)
        segments.append(Segment(round(start, 3), round(end, 3), speaker_id, text, tuple(group)))
    return segments


def _canonical(transcript: Transcript, turns: Sequence[Turn]) -> dict[str, Any]:
    result = to_canonical(transcript)
    for segment, raw in zip(transcript.segments, result["segments"], strict=True):
        raw.update(_summary(segment.words))
    for stats in transcript.speaker_stats():
        entry = result["speakers"][stats.speaker_id]
        entry["speaking_time"] = stats.speaking_time
        entry["word_count"] = stats.word_count
    metadata = result["metadata"]
    metadata["total_segments"] = len(transcript.segments)
    metadata["unique_speakers"] = len(transcript.speaker_ids)
    metadata["speech_turns"] = len(turns)
    return result


def _summary(words: Sequence[Word]) -> dict[str, Any]:
    pitches = [w.pitch_hz for w in words if w.pitch_hz is not None]
    volumes = [w.volume_db for w in words if w.volume_db is not None]
    return {
        "mean_pitch_hz": round(fmean(pitches), 2) if pitches else None,
        "pitch_range_hz": [min(pitches), max(pitches)] if pitches else None,
        "mean_volume_db": round(fmean(volumes), 2) if volumes else None,
    }
