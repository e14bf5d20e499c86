"""Two espeak-ng voices taking turns, and how far the diarizer's turns are from the truth.

Pairs: a man and a woman (an octave apart), two men and two women (the same pitch range,
told apart by timbre: espeak-ng's variants change the formants and the voice quality).
The diarization error rate comes from ``pyannote.metrics`` (no collar, overlap scored);
the boundary error is the largest distance between a true turn's start or end and the
matching turn the diarizer found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from ecg_desktop.analyzer.diarization import Turn, diarize, speech_mask
from ecg_desktop.analyzer.features import analyse_frames
from ecg_desktop.analyzer.media import decode_audio
from tests.media import SpeechTruth, make_speech_video

PAIRS: dict[str, tuple[str, str]] = {
    "man and woman": ("en-us", "en-us+f3"),
    "two men": ("en-us", "en-us+m7"),  # en-us+m3 differs by 4 % of formants: nearly a copy
    "two women": ("en-us+f2", "en+f4"),
}
LINES = (
    "The quick brown fox jumps over the lazy dog. We should all go and see a musical.",
    "I would rather stay home and read a good book by the fire tonight.",
    "That sounds boring to me, but I understand why you like it so much.",
    "Maybe next week we can do something together in the city.",
    "Do you remember where we parked the car this morning?",
    "It was on the third floor, next to the elevator, I think.",
)


@dataclass(frozen=True)
class Scored:
    truth: SpeechTruth
    turns: list[Turn]
    der: float
    boundary_error: float  # seconds; inf when the turns do not pair up one to one

    @property
    def speakers(self) -> int:
        return len({t.speaker for t in self.turns})


def conversation(
    folder: Path, voices: tuple[str, str], lines: Sequence[str] = LINES
) -> SpeechTruth:
    turns = [(voices[i % 2], line, 0.0) for i, line in enumerate(lines)]
    return make_speech_video(folder / f"{voices[0]}-{voices[1]}.mp4", turns)


def score(truth: SpeechTruth, turns: Sequence[Turn]) -> Scored:
    reference, hypothesis = Annotation(), Annotation()
    for index, true_turn in enumerate(truth.turns):
        reference[Segment(true_turn.start, true_turn.end), index] = true_turn.speaker
    for index, turn in enumerate(turns):
        hypothesis[Segment(turn.start, turn.end), index] = f"S{turn.speaker}"
    der = float(
        DiarizationErrorRate()(reference, hypothesis, uem=Timeline([Segment(0, truth.duration)]))
    )
    return Scored(truth, list(turns), der, _boundary_error(truth, turns))


def _boundary_error(truth: SpeechTruth, turns: Sequence[Turn]) -> float:
    merged: list[Turn] = []
    for turn in turns:  # consecutive turns of one speaker are one turn
        if merged and merged[-1].speaker == turn.speaker:
            merged[-1] = Turn(merged[-1].start, turn.end, turn.speaker)
        else:
            merged.append(turn)
    if len(merged) != len(truth.turns):
        return float("inf")
    return max(
        max(abs(found.start - true.start), abs(found.end - true.end))
        for found, true in zip(merged, truth.turns, strict=True)
    )


def diarize_file(truth: SpeechTruth, speakers: int | None = None) -> Scored:
    """The analyzer's decode, features and diarizer on the file; ``speakers``: the count
    given as both bounds, as a request's ``min_speakers``/``max_speakers`` would."""
    frames = analyse_frames(decode_audio(truth.path))
    mask = speech_mask(frames.energy_db)
    return score(truth, diarize(frames, mask, min_speakers=speakers, max_speakers=speakers))
