"""Pure helpers for the review pane: where a playback time falls among the words, and
time formatting. No Qt here, so these are unit-tested without a display.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from ecg_desktop.domain import Transcript
from ecg_desktop.domain.transcript import word_starts


@dataclass(frozen=True, slots=True)
class WordLocation:
    segment: int
    word: int


class WordTimeline:
    """Flat arrays of every word's start, end and place, for ``bisect`` during playback.

    Built once per transcript (O(words)); ``locate`` is O(log words), so a playback tick
    never scans the transcript.
    """

    def __init__(self, transcript: Transcript) -> None:
        self.starts: list[float] = word_starts(transcript)
        self.ends: list[float] = [w.end for _, w in transcript.words()]
        self._segment_of: list[int] = []
        self._word_in_segment: list[int] = []
        for segment_index, segment in enumerate(transcript.segments):
            count = len(segment.words)
            self._segment_of.extend([segment_index] * count)
            self._word_in_segment.extend(range(count))
        self._segment_starts = [s.start for s in transcript.segments]
        self._segment_ends = [s.end for s in transcript.segments]

    def __len__(self) -> int:
        return len(self.starts)

    def locate(self, seconds: float) -> WordLocation | None:
        """The word being spoken at ``seconds``: the last one started, while its segment
        lasts; ``None`` between segments and before the first word."""
        position = bisect_right(self.starts, seconds) - 1
        if position < 0:
            return None
        segment = self._segment_of[position]
        if seconds > max(self.ends[position], self._segment_ends[segment]):
            return None
        return WordLocation(segment, self._word_in_segment[position])

    def segment_at(self, seconds: float) -> int | None:
        position = bisect_right(self._segment_starts, seconds) - 1
        if position < 0 or seconds > self._segment_ends[position]:
            return None
        return position


def format_time(seconds: float, *, precise: bool = False) -> str:
    """``1:02:03`` or ``02:03``; with ``precise``, tenths (``02:03.4``)."""
    seconds = max(seconds, 0.0)
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
    if precise:
        text += f".{int((seconds - whole) * 10)}"
    return text


def format_span(start: float, end: float) -> str:
    return f"{format_time(start, precise=True)} – {format_time(end, precise=True)}"


def format_exact(seconds: float) -> str:
    """A time to type over: ``02:03.450`` or ``1:02:03.450`` (milliseconds)."""
    millis = round(max(seconds, 0.0) * 1000)
    whole, millis = divmod(millis, 1000)
    return f"{format_time(whole)}.{millis:03d}"


def parse_time(text: str) -> float:
    """Seconds of a typed time: ``75.5``, ``1:15.5``, ``01:15,500`` or ``0:01:15.5``;
    ``ValueError`` for anything else."""
    *units, last = text.strip().replace(",", ".").split(":")
    try:
        whole = [int(u) for u in units]
        seconds = float(last)
    except ValueError:
        raise ValueError(f"not a time: {text!r}") from None
    if len(whole) > 2 or seconds < 0 or any(u < 0 for u in whole) or seconds != seconds \
            or (whole and seconds >= 60) or (len(whole) == 2 and whole[1] >= 60):
        raise ValueError(f"not a time: {text!r}")
    total = 0
    for unit in whole:
        total = total * 60 + unit
    return round(total * 60 + seconds, 3)
