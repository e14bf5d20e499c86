"""Edits of a transcript like a subtitle editor's: retype a segment, split it at a word, join
two neighbours, give a segment or a word another speaker, move a segment's or a word's times.

Every edit is a ``SegmentsEdit``: the segments ``old`` starting at index ``first`` become the
segments ``new``. One shape for all of them means one way to apply, store and undo an edit
(the inverse swaps ``old`` and ``new``). The functions here are pure: they compute the edit
from a transcript and never change it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .transcript import Segment, Transcript, Word

# A key that lets "Hello," match "hello": words that only change case or punctuation keep
# their times and features.
_NON_WORD = re.compile(r"[^\w']+")
NUDGE_SECONDS = 0.05
MIN_SPAN = 0.01  # shortest segment or word an edit leaves


@dataclass(frozen=True, slots=True)
class SegmentsEdit:
    first: int
    old: tuple[Segment, ...]
    new: tuple[Segment, ...]

    def inverse(self) -> SegmentsEdit:
        return SegmentsEdit(self.first, self.new, self.old)

    def apply(self, transcript: Transcript) -> Transcript:
        """``transcript`` with the edit made; raises ``ValueError`` if it no longer fits."""
        segments = transcript.segments
        end = self.first + len(self.old)
        if segments[self.first:end] != self.old:
            raise ValueError("the transcript changed since this edit was made")
        return replace(transcript, segments=(*segments[:self.first], *self.new, *segments[end:]))


def _segment(index: int, transcript: Transcript) -> Segment:
    if not 0 <= index < len(transcript.segments):
        raise ValueError(f"no segment {index}")
    return transcript.segments[index]


def _text_of(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words)


def _key(token: str) -> str:
    return _NON_WORD.sub("", token).casefold() or token


def _spread(tokens: Sequence[str], start: float, end: float) -> list[Word]:
    """New words laid evenly over ``start``..``end``: they have no times of their own."""
    step = max(end - start, 0.0) / len(tokens)
    return [
        Word(token, round(start + i * step, 3), round(start + (i + 1) * step, 3), edited=True)
        for i, token in enumerate(tokens)
    ]


def rematch_words(segment: Segment, text: str) -> tuple[Word, ...]:
    """The words of ``text`` with the times of ``segment``'s words where they still match.

    Unchanged words keep everything; a word replaced one for one keeps its times and
    features with the new text; other new words are spread over the time of the words they
    replace (or the gap they are inserted in). Changed and new words are marked ``edited``.
    """
    old = segment.words
    tokens = text.split()
    matcher = difflib.SequenceMatcher(None, [_key(w.text) for w in old],
                                      [_key(t) for t in tokens], autojunk=False)
    out: list[Word] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        new_tokens = tokens[j1:j2]
        if tag in ("equal", "replace") and i2 - i1 == j2 - j1:
            out.extend(w if w.text == t else replace(w, text=t, edited=True)
                       for w, t in zip(old[i1:i2], new_tokens, strict=True))
        elif new_tokens:
            start = old[i1].start if tag == "replace" else (out[-1].end if out else segment.start)
            if tag == "replace":
                end = old[i2 - 1].end
            else:
                end = old[i1].start if i1 < len(old) else segment.end
            out.extend(_spread(new_tokens, start, max(start, end)))
    return tuple(out)


def retext_segment(transcript: Transcript, index: int, text: str) -> SegmentsEdit:
    """Segment ``index`` with the text ``text`` (see ``rematch_words``)."""
    segment = _segment(index, transcript)
    text = " ".join(text.split())
    if not text:
        raise ValueError("a segment's text cannot be empty")
    words = rematch_words(segment, text) if segment.words else ()
    new = replace(segment, text=text, words=words)
    return SegmentsEdit(index, (segment,), (new,))


def split_segment(transcript: Transcript, index: int, word: int) -> SegmentsEdit:
    """Segment ``index`` cut before its word ``word``: two segments of the same speaker."""
    segment = _segment(index, transcript)
    if not 0 < word < len(segment.words):
        raise ValueError("a segment is split between two of its words")
    head, tail = segment.words[:word], segment.words[word:]
    first = replace(segment, end=max(head[-1].end, segment.start), text=_text_of(head),
                    words=head)
    second = replace(segment, start=min(tail[0].start, segment.end), text=_text_of(tail),
                     words=tail)
    return SegmentsEdit(index, (segment,), (first, second))


def join_segments(transcript: Transcript, index: int) -> SegmentsEdit:
    """Segment ``index`` and the next one as one segment of the first one's speaker."""
    first, second = _segment(index, transcript), _segment(index + 1, transcript)
    words = tuple(sorted((*first.words, *second.words), key=lambda w: (w.start, w.end)))
    joined = Segment(min(first.start, second.start), max(first.end, second.end),
                     first.speaker_id, f"{first.text} {second.text}".strip(), words)
    return SegmentsEdit(index, (first, second), (joined,))


def reassign_segment(transcript: Transcript, index: int, speaker_id: str) -> SegmentsEdit:
    segment = _segment(index, transcript)
    if not speaker_id.strip():
        raise ValueError("a speaker id cannot be empty")
    return SegmentsEdit(index, (segment,), (replace(segment, speaker_id=speaker_id.strip()),))


def reassign_word(
    transcript: Transcript, index: int, word: int, speaker_id: str
) -> SegmentsEdit:
    """Word ``word`` of segment ``index`` spoken by ``speaker_id``: the segment is cut around
    the word, which becomes a segment of its own (the words before and after keep theirs)."""
    segment = _segment(index, transcript)
    if not 0 <= word < len(segment.words):
        raise ValueError(f"segment {index} has no word {word}")
    if not speaker_id.strip():
        raise ValueError("a speaker id cannot be empty")
    if len(segment.words) == 1:
        return reassign_segment(transcript, index, speaker_id)
    parts: list[Segment] = []
    before, spoken, after = segment.words[:word], segment.words[word], segment.words[word + 1:]
    if before:
        parts.append(replace(segment, end=before[-1].end, text=_text_of(before), words=before))
    parts.append(Segment(spoken.start if before else segment.start,
                         spoken.end if after else segment.end,
                         speaker_id.strip(), spoken.text, (spoken,)))
    if after:
        parts.append(replace(segment, start=after[0].start, text=_text_of(after), words=after))
    return SegmentsEdit(index, (segment,), tuple(parts))


def retime_segment(
    transcript: Transcript, index: int, start: float, end: float
) -> SegmentsEdit:
    """Segment ``index`` from ``start`` to ``end`` seconds; its words are kept inside.

    The start stays between the neighbours' starts, so the transcript keeps its time order;
    ``ValueError`` if nothing of the segment would be left.
    """
    segment = _segment(index, transcript)
    segments = transcript.segments
    low = segments[index - 1].start if index > 0 else 0.0
    high = segments[index + 1].start if index + 1 < len(segments) else float("inf")
    start = round(min(max(start, low), high), 3)
    end = round(min(end, transcript.duration) if transcript.duration else end, 3)
    if end - start < MIN_SPAN:
        raise ValueError("a segment must end after it starts")
    words = tuple(_clamped(w, start, end) for w in segment.words)
    return SegmentsEdit(index, (segment,), (replace(segment, start=start, end=end, words=words),))


def _clamped(word: Word, start: float, end: float) -> Word:
    if start <= word.start and word.end <= end:
        return word
    clamped_start = min(max(word.start, start), end)
    return replace(word, start=clamped_start, end=min(max(word.end, clamped_start), end),
                   edited=True)


def retime_word(
    transcript: Transcript, index: int, word: int, start: float, end: float
) -> SegmentsEdit:
    """Word ``word`` of segment ``index`` from ``start`` to ``end``, between its neighbours
    (it may not pass them); the segment grows to hold it."""
    segment = _segment(index, transcript)
    if not 0 <= word < len(segment.words):
        raise ValueError(f"segment {index} has no word {word}")
    words = list(segment.words)
    low = words[word - 1].end if word > 0 else 0.0
    high = words[word + 1].start if word + 1 < len(words) else float("inf")
    start, end = round(max(start, low), 3), round(min(end, high), 3)
    if end - start < MIN_SPAN:
        raise ValueError("a word must end after it starts")
    words[word] = replace(words[word], start=start, end=end, edited=True)
    new = replace(segment, start=min(segment.start, start), end=max(segment.end, end),
                  words=tuple(words))
    return SegmentsEdit(index, (segment,), (new,))


def nudge_segment(
    transcript: Transcript, index: int, *, start: float = 0.0, end: float = 0.0
) -> SegmentsEdit:
    """Move segment ``index``'s start by ``start`` and its end by ``end`` seconds."""
    segment = _segment(index, transcript)
    return retime_segment(transcript, index, segment.start + start, segment.end + end)


def nudge_word(
    transcript: Transcript, index: int, word: int, *, start: float = 0.0, end: float = 0.0
) -> SegmentsEdit:
    """Move word ``word`` of segment ``index``: its start by ``start``, its end by ``end``."""
    segment = _segment(index, transcript)
    if not 0 <= word < len(segment.words):
        raise ValueError(f"segment {index} has no word {word}")
    spoken = segment.words[word]
    return retime_word(transcript, index, word, spoken.start + start, spoken.end + end)


def speaker_rows(transcript: Transcript, speaker_id: str) -> tuple[int, ...]:
    """The indices of the segments ``speaker_id`` speaks (what a merge of them changes)."""
    return tuple(i for i, s in enumerate(transcript.segments) if s.speaker_id == speaker_id)


def reassign(transcript: Transcript, rows: Sequence[int], speaker_id: str) -> Transcript:
    """``transcript`` with the segments ``rows`` spoken by ``speaker_id`` (a merge, or its
    undo)."""
    segments = list(transcript.segments)
    for row in rows:
        segments[row] = replace(segments[row], speaker_id=speaker_id)
    return replace(transcript, segments=tuple(segments))
