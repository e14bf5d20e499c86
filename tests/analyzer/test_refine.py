"""The rules around Whisper's word-time refinement that the end-to-end test on espeak speech
does not reach: how utterances are formed, and what a word gets when the aligner's answer is
missing or implausible (the placement itself is measured in test_whisper.py)."""

from __future__ import annotations

import numpy as np

from ecg_desktop.analyzer.asr.common import RecognizedWord
from ecg_desktop.analyzer.asr.refine import MAX_UTTERANCE_S, _placed, refine_word_times, utterances
from ecg_desktop.analyzer.media import SAMPLE_RATE


def test_utterances_join_short_pauses_and_cut_long_speech_at_its_longest_pause() -> None:
    assert utterances([(0.5, 1.0), (1.2, 2.0), (3.0, 4.0)]) == [(0.5, 2.0), (3.0, 4.0)]
    # 30 s of speech in 0.75 s pieces with 0.25 s pauses, one pause of 0.29 s at 15.75 s
    regions = []
    start = 0.0
    while start < 30:
        regions.append((start, start + 0.75))
        start += 1.04 if start == 15.0 else 1.0
    spans = utterances(regions)
    assert spans == [(0.0, 15.75), (16.04, regions[-1][1])]
    assert all(b - a <= MAX_UTTERANCE_S for a, b in spans)


def test_words_without_a_trusted_alignment_keep_whispers_time_inside_their_utterance() -> None:
    words = [
        RecognizedWord("Hello,", 0.0, 0.4, 0.9),  # Whisper's usual early first word
        RecognizedWord("there", 0.4, 0.8, 0.8),
        RecognizedWord("friend.", 0.8, 1.6, 0.7),
    ]
    placed = _placed(words, [None, (2.9, 3.0), (1.0, 1.5)], 0.6, 1.5)
    # no time before the speech; 2.9 s is more than 1 s from Whisper's 0.4: not trusted
    assert [(w.start, w.end) for w in placed] == [(0.6, 1.0), (0.6, 1.0), (1.0, 1.5)]
    assert [w.text for w in placed] == ["Hello,", "there", "friend."]
    assert [w.confidence for w in placed] == [0.9, 0.8, 0.7]


def test_without_an_aligner_words_are_only_kept_inside_the_speech() -> None:
    audio = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    words = [RecognizedWord("안녕하세요", 0.0, 1.2), RecognizedWord("네", 1.9, 2.9)]
    refined = refine_word_times(audio, words, [(0.5, 1.1), (2.0, 2.6)], None)
    assert [(w.start, w.end) for w in refined] == [(0.5, 1.1), (2.0, 2.6)]
    assert refine_word_times(audio, [], [(0.5, 1.1)], None) == []
