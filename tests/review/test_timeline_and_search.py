"""Pure parts of the review: where playback is among the words, and find."""

from __future__ import annotations

import pytest

from ecg_desktop.domain import Segment, Transcript, Word, normalize
from ecg_desktop.gui.review.search import SearchOptions, SegmentTexts
from ecg_desktop.gui.review.timeline import (
    WordLocation,
    WordTimeline,
    format_exact,
    format_time,
    parse_time,
)

from .factory import analyzer_result


def _transcript() -> Transcript:
    return Transcript((
        Segment(1.0, 3.0, "A", "one two", (Word("one", 1.0, 1.5), Word("two", 2.0, 2.9))),
        Segment(5.0, 6.0, "B", "three", (Word("three", 5.0, 5.8),)),
    ))


def test_locate_finds_the_word_being_spoken() -> None:
    timeline = WordTimeline(_transcript())
    assert timeline.locate(0.5) is None  # before anything is said
    assert timeline.locate(1.0) == WordLocation(0, 0)
    assert timeline.locate(1.7) == WordLocation(0, 0)  # a pause inside a segment
    assert timeline.locate(2.95) == WordLocation(0, 1)
    assert timeline.locate(4.0) is None  # between segments
    assert timeline.locate(5.5) == WordLocation(1, 0)
    assert timeline.locate(99.0) is None
    assert timeline.segment_at(2.5) == 0 and timeline.segment_at(4.0) is None


def test_locate_agrees_with_a_scan_on_a_long_transcript() -> None:
    transcript = normalize(analyzer_result(300, speakers=4))
    timeline = WordTimeline(transcript)
    places = [(s, w, word) for s, seg in enumerate(transcript.segments)
              for w, word in enumerate(seg.words)]
    for s, w, word in places[::37]:
        assert timeline.locate(word.start + 1e-6) == WordLocation(s, w)


def test_find_counts_every_occurrence_with_options() -> None:
    segments = tuple(
        Segment(i, i + 1, "A", "", (Word("The", i, i + 0.2), Word("other", i + 0.3, i + 0.5),
                                    Word("the", i + 0.6, i + 0.9)))
        for i in range(150)
    )
    texts = SegmentTexts(segments)
    assert len(texts.find("the")) == 450  # The, o-the-r, the: no cap
    assert len(texts.find("the", SearchOptions(whole_word=True))) == 300
    assert len(texts.find("the", SearchOptions(case_sensitive=True, whole_word=True))) == 150
    hits = texts.find("other the", SearchOptions())
    assert len(hits) == 150 and (hits[0].first_word, hits[0].last_word) == (1, 2)
    assert texts.find("   ") == []
    assert texts.find("a+b") == []  # the query is text, not a pattern


def test_format_time() -> None:
    assert format_time(65.25, precise=True) == "01:05.2"
    assert format_time(3723) == "1:02:03"


@pytest.mark.parametrize(("text", "seconds"), [
    ("75.5", 75.5), ("1:15.5", 75.5), ("01:15,500", 75.5), ("0:01:15.5", 75.5),
    ("1:02:03.450", 3723.45), (" 4 ", 4.0),
])
def test_typed_times_are_read(text: str, seconds: float) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1:75", "-3", "1:2:3:4", "1:-2", "nan", "1::2"])
def test_what_is_not_a_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a time"):
        parse_time(text)


def test_an_exact_time_reads_back_as_typed() -> None:
    for seconds in (0.0, 7.05, 75.5, 3723.45):
        assert parse_time(format_exact(seconds)) == seconds
    assert format_exact(75.5) == "01:15.500"
