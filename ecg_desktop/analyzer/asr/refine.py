"""Whisper's word times, refined.

Whisper places words from its cross-attention: on our test speech they come out 0.1-0.4 s late,
and a first word often starts at the previous pause. Like WhisperX (which aligns Whisper's text
with a phoneme model), we keep Whisper's words and ask a forced aligner where each one is:
pocketsphinx, one utterance at a time (speech between pauses of at least ``GAP_S``, from the
analyzer's own voice activity). On the generated two-voice test video this brings word starts
from up to 0.37 s off to within 0.15 s of the synthesiser's own timings (measured in
``tests/analyzer/test_whisper.py``), for about 0.01x real time of CPU.

A word the aligner cannot place, or places implausibly far from Whisper's guess, keeps
Whisper's time; every word is kept inside its utterance, so none starts before its speech.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..media import SAMPLE_RATE
from .common import RecognizedWord, Regions

GAP_S = 0.3  # a pause at least this long ends an utterance
PAD_S = 0.3  # audio either side of an utterance given to the aligner
MAX_UTTERANCE_S = 20.0  # longer utterances are cut at their longest pauses (alignment cost)
MAX_SHIFT_S = 1.0  # an aligned start further than this from Whisper's is not trusted


class Aligner(Protocol):
    def align(
        self, audio: np.ndarray, tokens: Sequence[str]
    ) -> list[tuple[float, float] | None]: ...


def utterances(regions: Regions) -> list[tuple[float, float]]:
    """Speech regions joined across pauses shorter than ``GAP_S``; one that would last over
    ``MAX_UTTERANCE_S`` is cut at its longest inner pause, again until each fits."""
    groups: list[list[tuple[float, float]]] = []
    for region in regions:
        if groups and region[0] - groups[-1][-1][1] < GAP_S:
            groups[-1].append(region)
        else:
            groups.append([region])
    return [span for group in groups for span in _cut(group)]


def _cut(group: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(group) == 1 or group[-1][1] - group[0][0] <= MAX_UTTERANCE_S:
        return [(group[0][0], group[-1][1])]
    gaps = [group[i + 1][0] - group[i][1] for i in range(len(group) - 1)]
    split = int(np.argmax(gaps)) + 1
    return _cut(group[:split]) + _cut(group[split:])


def _nearest(word: RecognizedWord, spans: Sequence[tuple[float, float]]) -> int:
    """The utterance the word overlaps most, else the closest one."""

    def score(index: int) -> float:
        start, end = spans[index]
        return min(word.end, end) - max(word.start, start)

    return max(range(len(spans)), key=score)


def refine_word_times(
    audio: np.ndarray,
    words: Sequence[RecognizedWord],
    regions: Regions,
    aligner: Aligner | None,
) -> list[RecognizedWord]:
    """``words`` with start and end from the aligner (or only kept inside their utterance when
    ``aligner`` is None, e.g. for a language the aligner's English model cannot follow)."""
    spans = utterances(regions)
    if not words or not spans:
        return list(words)
    groups: dict[int, list[RecognizedWord]] = {}
    for word in words:
        groups.setdefault(_nearest(word, spans), []).append(word)
    duration = len(audio) / SAMPLE_RATE
    refined: list[RecognizedWord] = []
    for index in sorted(groups):
        start, end = spans[index]
        group = groups[index]
        times: list[tuple[float, float] | None] = [None] * len(group)
        if aligner is not None:
            low, high = max(0.0, start - PAD_S), min(duration, end + PAD_S)
            piece = audio[int(low * SAMPLE_RATE) : int(high * SAMPLE_RATE)]
            times = [
                None if t is None else (low + t[0], low + t[1])
                for t in aligner.align(piece, [w.text for w in group])
            ]
        refined.extend(_placed(group, times, start, end))
    return refined


def _placed(
    group: Sequence[RecognizedWord],
    times: Sequence[tuple[float, float] | None],
    start: float,
    end: float,
) -> list[RecognizedWord]:
    """Each word at its aligned time when trusted, else Whisper's, in order, within the
    utterance ``start``..``end``."""
    chosen = [
        t if t is not None and abs(t[0] - w.start) <= MAX_SHIFT_S else None
        for w, t in zip(group, times, strict=True)
    ]
    out: list[RecognizedWord] = []
    floor = start
    for index, word in enumerate(group):
        following = next((t[0] for t in chosen[index + 1 :] if t is not None), end)
        ceiling = max(floor, min(following, end))
        a, b = chosen[index] or (word.start, word.end)
        length = max(0.0, b - a)
        a = min(max(a, floor), ceiling)
        # A word moved later keeps its length, up to the next placed word.
        b = min(max(b, a + length), max(min(following, end), a))
        out.append(RecognizedWord(word.text, round(a, 3), round(b, 3), word.confidence))
        floor = a
    return out
