"""Colours of the review: one per speaker (the same in the pane, the plots and the speaker
list) and a colour scale for word loudness or pitch.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtGui import QColor

from ecg_desktop.domain import Transcript

# Tableau 10: distinguishable, and readable as text on a light background.
_SPEAKER_COLOURS = (
    "#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1",
    "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac",
)
_NUMBERED = re.compile(r"(\d+)$")


def speaker_colour(speaker_id: str) -> QColor:
    """The colour of a speaker, stable across sessions and views.

    ``SPEAKER_03`` gets the fourth colour; other ids a colour picked by a hash of the id, so
    merging or renaming speakers never repaints the others.
    """
    match = _NUMBERED.search(speaker_id)
    index = int(match.group(1)) if match else zlib.crc32(speaker_id.encode())
    return QColor(_SPEAKER_COLOURS[index % len(_SPEAKER_COLOURS)])


class Colouring(StrEnum):
    NONE = "none"
    LOUDNESS = "volume_db"
    PITCH = "pitch_hz"


# Low to high: dark blue, through grey, to dark red (ColorBrewer RdBu ends). Every stop is
# dark enough to read as text on a light background.
_RAMP = ((5, 48, 97), (33, 102, 172), (120, 120, 120), (214, 96, 77), (178, 24, 43))


def ramp_colour(fraction: float) -> QColor:
    fraction = min(max(fraction, 0.0), 1.0) * (len(_RAMP) - 1)
    low = int(fraction)
    high = min(low + 1, len(_RAMP) - 1)
    part = fraction - low
    r, g, b = (round(a + (b - a) * part) for a, b in zip(_RAMP[low], _RAMP[high], strict=True))
    return QColor(r, g, b)


def ramp_stops() -> Sequence[QColor]:
    return [QColor(*rgb) for rgb in _RAMP]


@dataclass(frozen=True, slots=True)
class FeatureScale:
    """The range a feature is coloured over: its 5th to 95th percentile in the transcript."""

    feature: Colouring
    low: float
    high: float

    @classmethod
    def of(cls, transcript: Transcript, feature: Colouring) -> FeatureScale | None:
        if feature is Colouring.NONE or not transcript.features_measured:
            return None
        values = sorted(
            v for _, w in transcript.words() if (v := getattr(w, feature.value)) is not None
        )
        if not values:
            return None
        low = values[int(0.05 * (len(values) - 1))]
        high = values[int(0.95 * (len(values) - 1))]
        return cls(feature, low, high if high > low else low + 1.0)

    def fraction(self, value: float) -> float:
        return (value - self.low) / (self.high - self.low)

    def colour(self, value: float | None) -> QColor | None:
        return None if value is None else ramp_colour(self.fraction(value))

    @property
    def unit(self) -> str:
        return "dB" if self.feature is Colouring.LOUDNESS else "Hz"
