"""``SegmentTableModel``: an adapter presenting a ``Transcript``'s segments to Qt views
(https://doc.qt.io/qt-6/qabstracttablemodel.html), plus the view state the word delegate
paints: the word being played, search hits and the feature colouring.

Display text is computed in ``data()``, never stored. State changes emit ``dataChanged`` only
for the rows they touch, so a playback tick repaints two rows, not the transcript.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from ecg_desktop.domain import Segment, Transcript
from ecg_desktop.domain.editing import SegmentsEdit

from .palette import Colouring, FeatureScale, speaker_colour
from .search import SearchHit, SearchOptions, SegmentTexts, compile_query
from .timeline import WordLocation, WordTimeline, format_span

AnyIndex = QModelIndex | QPersistentModelIndex

ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the segment's index in the transcript
SPEAKER_ID_ROLE = Qt.ItemDataRole.UserRole + 2
START_ROLE = Qt.ItemDataRole.UserRole + 3


class Column(IntEnum):
    TIME = 0
    SPEAKER = 1
    TEXT = 2


_EMPTY = Transcript(())


class SegmentTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.transcript: Transcript = _EMPTY
        # Built on first use (search, playback), not on the way to the first paint.
        self._texts: SegmentTexts | None = None
        self._timeline: WordTimeline | None = None
        self.revisions: list[int] = []  # bumped when a row's words change (layout cache key)
        self.current: WordLocation | None = None
        self.hits: list[SearchHit] = []
        self.hits_by_row: dict[int, list[int]] = {}  # row -> numbers of its hits
        self.current_hit: int | None = None
        self.colouring = Colouring.NONE
        self.scale: FeatureScale | None = None

    # -- Qt model interface --------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.transcript.segments)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return (self.tr("Time"), self.tr("Speaker"), self.tr("Text"))[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        segment = self.transcript.segments[row]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            column = index.column()
            if column == Column.TIME:
                return format_span(segment.start, segment.end)
            if column == Column.SPEAKER:
                return self.transcript.display_name(segment.speaker_id)
            return self.texts.texts[row]
        if role == SPEAKER_ID_ROLE:
            return segment.speaker_id
        if role == START_ROLE:
            return segment.start
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == Column.SPEAKER:
            return speaker_colour(segment.speaker_id)
        return None

    # -- content -------------------------------------------------------------------------

    def set_transcript(self, transcript: Transcript) -> None:
        self.beginResetModel()
        self.transcript = transcript
        self._texts = None
        self._timeline = None
        self.revisions = [0] * len(transcript.segments)
        self.current = None
        self.hits, self.hits_by_row, self.current_hit = [], {}, None
        self.scale = FeatureScale.of(transcript, self.colouring)
        self.endResetModel()

    @property
    def texts(self) -> SegmentTexts:
        if self._texts is None:
            self._texts = SegmentTexts(self.transcript.segments)
        return self._texts

    @property
    def timeline(self) -> WordTimeline:
        if self._timeline is None:
            self._timeline = WordTimeline(self.transcript)
        return self._timeline

    def segment(self, row: int) -> Segment:
        return self.transcript.segments[row]

    def replace_transcript(self, transcript: Transcript) -> None:
        """Swap in a newer version of the same transcript (edited elsewhere, or speakers
        merged) without a reset, so the view keeps its place."""
        if len(transcript.segments) != len(self.transcript.segments):
            self.set_transcript(transcript)
            return
        self.layoutAboutToBeChanged.emit()
        old = self.transcript.segments
        self.transcript = transcript
        for row, segment in enumerate(transcript.segments):
            if segment != old[row]:
                self.revisions[row] += 1
        self._texts = None
        self._timeline = None
        self.scale = FeatureScale.of(transcript, self.colouring)
        self.layoutChanged.emit()

    def set_word_text(self, row: int, word_index: int, text: str) -> None:
        segment = self.transcript.segments[row]
        words = list(segment.words)
        words[word_index] = replace(words[word_index], text=text, edited=True)
        segment = replace(segment, words=tuple(words), text=" ".join(w.text for w in words))
        self._replace_segment(row, segment)

    def show_segment_speaker(self, row: int, speaker_id: str) -> None:
        self._replace_segment(row, replace(self.transcript.segments[row], speaker_id=speaker_id))

    def _replace_segment(self, row: int, segment: Segment) -> None:
        segments = list(self.transcript.segments)
        segments[row] = segment
        self.transcript = replace(self.transcript, segments=tuple(segments))
        self._refresh_row(row, segment)  # the view re-measures its height on dataChanged

    def apply_edit(self, edit: SegmentsEdit) -> None:
        """Show ``edit`` made (``ValueError`` if it no longer fits): rows changed in place
        repaint; rows split or joined are removed and inserted, so the view keeps its place."""
        transcript = edit.apply(self.transcript)
        first, old, new = edit.first, len(edit.old), len(edit.new)
        if old == new:
            self.transcript = transcript
            for row in range(first, first + new):
                self._refresh_row(row, transcript.segments[row])
            return
        kept = replace(self.transcript, segments=transcript.segments[:first]
                       + self.transcript.segments[first + old:])
        self.beginRemoveRows(QModelIndex(), first, first + old - 1)
        self.transcript, self._texts, self._timeline = kept, None, None
        del self.revisions[first:first + old]
        self.current = None
        self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), first, first + new - 1)
        self.transcript = transcript
        self.revisions[first:first] = [0] * new
        self.endInsertRows()

    def _refresh_row(self, row: int, segment: Segment) -> None:
        if self._texts is not None:
            self._texts.set(row, segment)
        self._timeline = None
        self.revisions[row] += 1
        self.dataChanged.emit(self.index(row, 0), self.index(row, Column.TEXT))

    def set_speaker_names(self, names: dict[str, str]) -> None:
        self.transcript = self.transcript.with_speaker_names(names)
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, 0), self.index(self.rowCount() - 1, Column.TEXT),
                [Qt.ItemDataRole.DisplayRole],
            )

    # -- playback ------------------------------------------------------------------------

    def set_current(self, location: WordLocation | None) -> bool:
        """Mark the word being played; repaints only the old and new rows."""
        if location == self.current:
            return False
        old, self.current = self.current, location
        for place in {old, location}:
            if place is not None:
                self._repaint_row(place.segment)
        return True

    def _repaint_row(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, Column.TEXT))

    # -- colouring -----------------------------------------------------------------------

    def set_colouring(self, colouring: Colouring) -> None:
        self.colouring = colouring
        self.scale = FeatureScale.of(self.transcript, colouring)
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, Column.TEXT))

    def word_colour_value(self, row: int, word_index: int) -> float | None:
        if self.scale is None:
            return None
        words = self.transcript.segments[row].words
        if word_index >= len(words):
            return None
        value = getattr(words[word_index], self.scale.feature.value)
        return None if value is None else float(value)

    # -- search --------------------------------------------------------------------------

    def search(self, query: str, options: SearchOptions) -> int:
        """Highlight every occurrence of ``query``; returns how many there are."""
        touched = set(self.hits_by_row)
        self.hits = self.texts.find(query, options)
        by_row: dict[int, list[int]] = defaultdict(list)
        for number, hit in enumerate(self.hits):
            by_row[hit.segment].append(number)
        self.hits_by_row = dict(by_row)
        self.current_hit = 0 if self.hits else None
        for row in touched | set(self.hits_by_row):
            self._repaint_row(row)
        return len(self.hits)

    def set_current_hit(self, number: int | None) -> None:
        rows = set()
        for hit in (self.current_hit, number):
            if hit is not None and hit < len(self.hits):
                rows.add(self.hits[hit].segment)
        self.current_hit = number
        for row in rows:
            self._repaint_row(row)

    def highlighted_words(self, row: int) -> tuple[set[int], set[int]]:
        """The words of ``row`` inside a hit, and those inside the current hit."""
        numbers = self.hits_by_row.get(row)
        if not numbers:
            return set(), set()
        words: set[int] = set()
        current: set[int] = set()
        for number in numbers:
            hit = self.hits[number]
            span = range(hit.first_word, hit.last_word + 1)
            (current if number == self.current_hit else words).update(span)
        return words, current


class SegmentFilterProxy(QSortFilterProxyModel):
    """Shows the segments of some speakers and, optionally, only those matching a text."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hidden_speakers: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None

    def set_hidden_speakers(self, speaker_ids: Iterable[str]) -> None:
        hidden = frozenset(speaker_ids)
        if hidden != self._hidden_speakers:
            self.beginFilterChange()
            self._hidden_speakers = hidden
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    @property
    def hidden_speakers(self) -> frozenset[str]:
        return self._hidden_speakers

    def set_text_filter(self, query: str, options: SearchOptions | None = None) -> None:
        pattern = compile_query(query, options or SearchOptions())
        if pattern != self._pattern:
            self.beginFilterChange()
            self._pattern = pattern
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, SegmentTableModel):
            return True
        if self._hidden_speakers and (
            model.transcript.segments[source_row].speaker_id in self._hidden_speakers
        ):
            return False
        return self._pattern is None or model.texts.matches(source_row, self._pattern)
