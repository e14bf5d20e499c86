"""Find in a transcript (pure): every occurrence, mapped to the words it covers."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from ecg_desktop.domain import Segment


def display_tokens(segment: Segment) -> list[str]:
    """What the pane lays out for a segment: its words, or its text's words if it has none."""
    return [w.text for w in segment.words] if segment.words else segment.text.split()


@dataclass(frozen=True, slots=True)
class SearchHit:
    segment: int
    first_word: int
    last_word: int


@dataclass(frozen=True, slots=True)
class SearchOptions:
    case_sensitive: bool = False
    whole_word: bool = False


def compile_query(query: str, options: SearchOptions) -> re.Pattern[str] | None:
    if not query.strip():
        return None
    pattern = re.escape(query.strip())
    if options.whole_word:
        pattern = rf"(?<!\w){pattern}(?!\w)"
    return re.compile(pattern, 0 if options.case_sensitive else re.IGNORECASE)


class SegmentTexts:
    """Each segment's displayed text (tokens joined by spaces) and where each token starts."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.texts: list[str] = []
        self.offsets: list[list[int]] = []
        for segment in segments:
            self.set(len(self.texts), segment)

    def set(self, index: int, segment: Segment) -> None:
        tokens = display_tokens(segment)
        offsets, position = [], 0
        for token in tokens:
            offsets.append(position)
            position += len(token) + 1
        entry = (" ".join(tokens), offsets)
        if index == len(self.texts):
            self.texts.append(entry[0])
            self.offsets.append(entry[1])
        else:
            self.texts[index], self.offsets[index] = entry

    def find(self, query: str, options: SearchOptions = SearchOptions()) -> list[SearchHit]:
        """Every occurrence in time order, none left out."""
        pattern = compile_query(query, options)
        if pattern is None:
            return []
        hits: list[SearchHit] = []
        for index, text in enumerate(self.texts):
            offsets = self.offsets[index]
            for match in pattern.finditer(text):
                first = bisect_right(offsets, match.start()) - 1
                last = bisect_right(offsets, max(match.end() - 1, match.start())) - 1
                hits.append(SearchHit(index, max(first, 0), max(last, 0)))
        return hits

    def matches(self, index: int, pattern: re.Pattern[str]) -> bool:
        return pattern.search(self.texts[index]) is not None
