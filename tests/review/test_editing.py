"""Subtitle-editor edits (domain/editing.py), without Qt and without a store."""

from __future__ import annotations

import pytest

from ecg_desktop.domain import Segment, Transcript, Word
from ecg_desktop.domain.editing import (
    join_segments,
    nudge_segment,
    nudge_word,
    reassign,
    reassign_word,
    retext_segment,
    retime_segment,
    retime_word,
    speaker_rows,
    split_segment,
)


def _segment(start: float, texts: list[str], speaker: str = "SPEAKER_00") -> Segment:
    words = tuple(
        Word(t, start + i, start + i + 0.8, volume_db=-10.0 - i, pitch_hz=100.0 + i)
        for i, t in enumerate(texts)
    )
    return Segment(start, start + len(texts), speaker, " ".join(texts), words)


@pytest.fixture
def transcript() -> Transcript:
    return Transcript((
        _segment(0.0, ["the", "cat", "sat", "down"]),
        _segment(5.0, ["hello", "there"], "SPEAKER_01"),
        _segment(8.0, ["bye"]),
    ), {"duration": 10.0})


def test_retyping_keeps_the_times_of_words_that_still_match(transcript: Transcript) -> None:
    edit = retext_segment(transcript, 0, "The cat, sat quietly down today")
    words = edit.new[0].words
    assert [w.text for w in words] == ["The", "cat,", "sat", "quietly", "down", "today"]
    # "the" -> "The" and "cat" -> "cat," keep times and features, marked as edited
    assert (words[0].start, words[0].end, words[0].volume_db) == (0.0, 0.8, -10.0)
    assert words[0].edited and words[1].edited and not words[2].edited
    assert words[2] == transcript.segments[0].words[2]
    # an inserted word takes the gap before the next old word; one after the last word
    # takes the rest of the segment, without features
    assert (words[3].start, words[3].end, words[3].edited) == (2.8, 3.0, True)
    assert words[3].pitch_hz is None
    assert words[4] == transcript.segments[0].words[3]
    assert (words[5].start, words[5].end) == (3.8, 4.0)
    assert edit.new[0].text == "The cat, sat quietly down today"


def test_words_replacing_others_share_their_time(transcript: Transcript) -> None:
    edit = retext_segment(transcript, 0, "the dog was sitting down")
    words = edit.new[0].words
    assert [w.text for w in words] == ["the", "dog", "was", "sitting", "down"]
    # "cat sat" (1.0-2.8) became three words spread evenly over it
    assert [(w.start, w.end) for w in words[1:4]] == [(1.0, 1.6), (1.6, 2.2), (2.2, 2.8)]
    assert all(w.edited for w in words[1:4])
    assert words[4].start == 3.0


def test_a_segment_cannot_be_emptied(transcript: Transcript) -> None:
    with pytest.raises(ValueError, match="empty"):
        retext_segment(transcript, 0, "   ")


def test_split_join_and_undo_restore_the_transcript(transcript: Transcript) -> None:
    split = split_segment(transcript, 0, 2)
    after = split.apply(transcript)
    assert [s.text for s in after.segments[:2]] == ["the cat", "sat down"]
    assert (after.segments[0].start, after.segments[0].end) == (0.0, 1.8)
    assert (after.segments[1].start, after.segments[1].end) == (2.0, 4.0)
    assert split.inverse().apply(after) == transcript

    joined = join_segments(after, 0).apply(after)
    assert joined.segments[0].text == "the cat sat down"
    assert joined.segments[0].words == transcript.segments[0].words
    with pytest.raises(ValueError):
        split_segment(transcript, 0, 0)  # nothing before the cut
    with pytest.raises(ValueError):
        join_segments(transcript, 2)  # no next segment


def test_an_edit_refuses_a_transcript_that_changed(transcript: Transcript) -> None:
    edit = split_segment(transcript, 0, 1)
    with pytest.raises(ValueError, match="changed"):
        edit.apply(edit.apply(transcript))


def test_a_word_of_another_speaker_becomes_its_own_segment(transcript: Transcript) -> None:
    edit = reassign_word(transcript, 0, 1, "SPEAKER_01")
    assert [(s.speaker_id, s.text) for s in edit.new] == [
        ("SPEAKER_00", "the"), ("SPEAKER_01", "cat"), ("SPEAKER_00", "sat down")]
    assert edit.new[0].start == 0.0 and edit.new[-1].end == 4.0
    only = reassign_word(transcript, 2, 0, "SPEAKER_01")
    assert [s.speaker_id for s in only.new] == ["SPEAKER_01"]


def test_retiming_keeps_words_inside_and_the_order_of_segments(transcript: Transcript) -> None:
    edit = retime_segment(transcript, 0, 0.5, 2.5)
    moved = edit.new[0]
    assert (moved.start, moved.end) == (0.5, 2.5)
    assert all(0.5 <= w.start <= w.end <= 2.5 for w in moved.words)
    assert moved.words[1] == transcript.segments[0].words[1]  # already inside: untouched
    # a start before the previous segment's start stops there
    assert retime_segment(transcript, 1, -3.0, 6.0).new[0].start == 0.0
    with pytest.raises(ValueError, match="after it starts"):
        retime_segment(transcript, 1, 6.0, 6.0)


def test_nudging_moves_an_edge_by_fifty_milliseconds(transcript: Transcript) -> None:
    later = nudge_segment(transcript, 1, start=0.05).new[0]
    assert (later.start, later.end) == (5.05, 7.0)
    longer = nudge_segment(transcript, 1, end=0.05).new[0]
    assert longer.end == 7.05


def test_a_word_is_nudged_within_its_neighbours(transcript: Transcript) -> None:
    later = nudge_word(transcript, 0, 1, start=0.05).new[0].words[1]
    assert (later.start, later.end, later.edited) == (1.05, 1.8, True)
    shorter = nudge_word(transcript, 0, 1, end=-0.05).new[0].words[1]
    assert shorter.end == 1.75
    with pytest.raises(ValueError, match="after it starts"):
        nudge_word(transcript, 0, 1, start=0.8)


def test_a_word_moves_between_its_neighbours_and_stretches_its_segment(
    transcript: Transcript,
) -> None:
    edit = retime_word(transcript, 0, 1, 0.5, 1.9)
    word = edit.new[0].words[1]
    assert (word.start, word.end, word.edited) == (0.8, 1.9, True)  # not before "the" ends
    last = retime_word(transcript, 0, 3, 3.0, 4.6).new[0]
    assert last.end == 4.6


def test_a_merge_is_a_reassignment_that_can_be_reversed(transcript: Transcript) -> None:
    rows = speaker_rows(transcript, "SPEAKER_01")
    merged = reassign(transcript, rows, "SPEAKER_00")
    assert merged.speaker_ids == ["SPEAKER_00"]
    assert reassign(merged, rows, "SPEAKER_01") == transcript
