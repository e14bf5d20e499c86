"""A transcript's words packed into one value (``transcripts.words_packed``), beside its rows.

Loading 40,000 words from rows costs a driver tuple, eight Python objects and a dict lookup
per word; this value is one read and a decode done almost entirely in C: the float columns
are ``array('d')`` bytes and the texts one JSON array. What is left per word is making the
``Word`` itself.

It holds what the result said and never changes afterwards: edits go to the rows
(``words.text`` with ``original_text`` beside it), and the loader lays the edited rows over
it. Segments and speakers, which edits change, are always read from their rows.

Layout (little-endian): a header (magic, version, segment count, word count, which optional
columns hold ``None``), the words per segment as ``uint32``, six ``float64`` columns (start,
end, volume_db, pitch_hz, spectral_centroid, confidence; NaN stands for ``None``, which
``normalize`` makes of any non-finite number, so no real value is NaN), then the word texts
as a UTF-8 JSON array.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import json
import math
import struct
import sys
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

from ecg_desktop.domain import Segment, Word

_HEADER = struct.Struct("<4sBxxxIII")
_MAGIC = b"ECGW"
_VERSION = 1
_OPTIONAL = ("volume_db", "pitch_hz", "spectral_centroid", "confidence")
_SWAP = sys.byteorder != "little"


class PackedWordsError(ValueError):
    """The value is not packed words this version can read."""


def pack_words(segments: Sequence[Segment]) -> bytes:
    """The packed words of ``segments`` (in their order)."""
    words = [w for s in segments for w in s.words]
    counts = array("I", [len(s.words) for s in segments])
    columns: list[array[Any]] = [
        array("d", [w.start for w in words]), array("d", [w.end for w in words])
    ]
    has_none = 0
    for bit, name in enumerate(_OPTIONAL):
        values = [getattr(w, name) for w in words]
        if any(v is None for v in values):
            has_none |= 1 << bit
            values = [math.nan if v is None else v for v in values]
        columns.append(array("d", values))
    texts = json.dumps([w.text for w in words], ensure_ascii=False).encode()
    parts = [_HEADER.pack(_MAGIC, _VERSION, len(segments), len(words), has_none)]
    for column in (counts, *columns):
        if _SWAP:
            column.byteswap()
        parts.append(column.tobytes())
    parts.append(texts)
    return b"".join(parts)


def unpack_words(packed: bytes) -> tuple[list[int], list[Word]]:
    """(words per segment, every word in order) of a packed value."""
    try:
        magic, version, segment_count, word_count, has_none = _HEADER.unpack_from(packed)
    except struct.error:
        raise PackedWordsError("too short") from None
    if magic != _MAGIC or version != _VERSION:
        raise PackedWordsError(f"not packed words of version {_VERSION}")
    offset = _HEADER.size
    counts, offset = _column("I", packed, offset, segment_count)
    floats = []
    for _ in range(6):  # one list per column: each tolist() holds the GIL for 1/6 the time
        column, offset = _column("d", packed, offset, word_count)
        floats.append(column.tolist())
    try:
        texts = json.loads(packed[offset:])
    except ValueError:
        raise PackedWordsError("word texts do not decode") from None
    if not isinstance(texts, list) or len(texts) != word_count or sum(counts) != word_count:
        raise PackedWordsError("counts do not match")
    columns: list[list[Any]] = floats
    for bit in range(len(_OPTIONAL)):
        if has_none & (1 << bit):
            columns[2 + bit] = [None if v != v else v for v in columns[2 + bit]]  # NaN
    return counts.tolist(), _make_words(texts, columns)


_WORD_FIELDS = ("text", "start", "end", *_OPTIONAL)
# ``Word(...)`` runs the frozen dataclass's ``__init__``: seven ``object.__setattr__`` calls
# in Python, 0.9 us a word (36 ms for a three-hour transcript). Filling blank instances one
# column at a time through the slots' own descriptors does the same work in C loops (15 ms).
# Only while ``Word`` is exactly these fields with nothing run on construction.
_FILL_SLOTS = (
    tuple(f.name for f in dataclasses.fields(Word)) == _WORD_FIELDS
    and not hasattr(Word, "__post_init__")
    and "__slots__" in Word.__dict__
)


def _make_words(texts: list[str], columns: list[list[Any]]) -> list[Word]:
    if not _FILL_SLOTS:
        return list(map(Word, texts, *columns))
    words: list[Word] = list(map(object.__new__, itertools.repeat(Word, len(texts))))
    for name, values in zip(_WORD_FIELDS, (texts, *columns), strict=True):
        collections.deque(map(Word.__dict__[name].__set__, words, values), maxlen=0)
    return words


def _column(code: str, packed: bytes, offset: int, count: int) -> tuple[array[Any], int]:
    column: array[Any] = array(code)
    end = offset + count * column.itemsize
    if end > len(packed):
        raise PackedWordsError("truncated")
    column.frombytes(packed[offset:end])
    if _SWAP:
        column.byteswap()
    return column, end


def segments_of(
    segment_rows: Iterable[Sequence[object]],
    counts: Sequence[int],
    words: Sequence[Word],
) -> tuple[Segment, ...]:
    """Segments from their rows ``(idx, start, end, speaker_id, text)`` (in index order) and
    the words cut by ``counts``."""
    segments = []
    position = 0
    for (_, start, end, speaker_id, text), count in zip(segment_rows, counts, strict=True):
        segments.append(
            Segment(start, end, speaker_id, text, tuple(words[position:position + count]))  # type: ignore[arg-type]
        )
        position += count
    return tuple(segments)
