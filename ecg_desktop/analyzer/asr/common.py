"""What every recogniser returns, and the audio helpers they share."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

Progress = Callable[[float], None]  # fraction of the audio consumed, 0..1
Regions = Sequence[tuple[float, float]]  # speech regions, seconds
FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")  # noise and silence "words"


@dataclass(frozen=True)
class RecognizedWord:
    text: str
    start: float
    end: float
    confidence: float | None = None


@dataclass(frozen=True)
class Recognition:
    words: list[RecognizedWord]
    language: str
    mode: str  # "recognition" or "alignment"
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # into the result's metadata


class Recognizer(Protocol):
    name: str
    model_version: str

    def recognize(self, audio: np.ndarray, regions: Regions, progress: Progress) -> Recognition:
        """Words with times over the speech ``regions`` (seconds) of ``audio``."""
        ...


def dithered(audio: np.ndarray) -> np.ndarray:
    """The audio with noise at -80 dBFS: pocketsphinx's search goes astray on digital silence
    (an aligner then drops the last words), and real recordings are never exactly zero."""
    noise = np.random.default_rng(0).normal(0.0, 1e-4, len(audio)).astype(np.float32)
    return audio + noise


def pcm16(audio: np.ndarray) -> bytes:
    pcm: bytes = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    return pcm


def padded_spans(regions: Regions, duration: float, pad: float) -> list[tuple[float, float]]:
    """Regions widened by ``pad`` and merged where they touch: one utterance each."""
    spans: list[tuple[float, float]] = []
    for start, end in regions:
        a, b = max(0.0, start - pad), min(duration, end + pad)
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return spans or [(0.0, duration)]
