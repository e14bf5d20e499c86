"""``TranscriptView``: the segments as a flat list, painted by ``SegmentDelegate``.

A ``QTreeView`` rather than a ``QListView``: on ``dataChanged`` a tree view re-measures only
the rows named, while a list view lays out every row again, which on a long transcript would
make each playback tick cost a pass over the whole transcript. Row heights are cached by the
view and by the delegate.

It turns clicks into ``wordClicked(row, word)`` / ``segmentClicked(row)`` (rows are
transcript segment indices, not proxy rows) and asks for a context menu with
``wordMenuRequested``.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    Qt,
    Signal,
)
from PySide6.QtGui import QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeView, QWidget

from .qt_segment_delegate import SegmentDelegate
from .qt_segment_model import ROW_ROLE


class TranscriptView(QTreeView):
    wordClicked = Signal(int, int)
    segmentClicked = Signal(int)
    wordMenuRequested = Signal(int, int, QPoint)  # row, word (-1: none), global position

    def __init__(self, delegate: SegmentDelegate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._delegate = delegate
        self.setItemDelegate(delegate)
        self.setUniformRowHeights(False)
        self.setRootIsDecorated(False)
        self.setItemsExpandable(False)
        self.setIndentation(0)
        self.setHeaderHidden(True)
        self.setAllColumnsShowFocus(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # A scroll bar that came and went would change the width, and so every row's height.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_menu)
        self.verticalScrollBar().setSingleStep(24)
        self._hovered_index = QPersistentModelIndex()

    def setModel(self, model: QAbstractItemModel | None) -> None:
        super().setModel(model)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if model is not None:
            for column in range(1, model.columnCount()):
                header.hideSection(column)  # the delegate paints the whole segment in column 0

    def resizeEvent(self, event: QResizeEvent) -> None:
        wrap_before = self._delegate.wrap_width
        self._delegate.width = max(self.viewport().width(), 200)
        if self._delegate.wrap_width != wrap_before:
            self.scheduleDelayedItemsLayout()  # rows wrap differently: heights change
        super().resizeEvent(event)

    def hit(self, point: QPoint) -> tuple[QModelIndex, int | None]:
        """The segment (proxy index) and word under a viewport point."""
        index = self.indexAt(point)
        if not index.isValid():
            return index, None
        index = index.siblingAtColumn(0)
        return index, self._delegate.word_at(self.visualRect(index), index, QPointF(point))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        index, word = self.hit(event.position().toPoint())
        hovered = (index.data(ROW_ROLE), word) if index.isValid() and word is not None else None
        self._set_hovered(hovered, index)

    def leaveEvent(self, event: QEvent) -> None:
        self._set_hovered(None, QModelIndex())
        super().leaveEvent(event)

    def _set_hovered(self, hovered: tuple[int, int] | None, index: QModelIndex) -> None:
        """Underline the word under the mouse; repaints only the rows concerned."""
        if hovered == self._delegate.hovered:
            return
        model = self.model()
        if self._hovered_index.isValid() and model is not None:
            old = model.index(self._hovered_index.row(), 0)
            self.viewport().update(self.visualRect(old))
        self._delegate.hovered = hovered
        self._hovered_index = QPersistentModelIndex(index) if hovered else QPersistentModelIndex()
        if hovered:
            self.viewport().update(self.visualRect(index))
        cursor = Qt.CursorShape.PointingHandCursor if hovered else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(cursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        index, word = self.hit(event.position().toPoint())
        if not index.isValid():
            return
        row = index.data(ROW_ROLE)
        if word is not None:
            self.wordClicked.emit(row, word)
        else:
            self.segmentClicked.emit(row)

    def _on_menu(self, point: QPoint) -> None:
        index, word = self.hit(point)
        if index.isValid():
            self.wordMenuRequested.emit(
                index.data(ROW_ROLE), -1 if word is None else word,
                self.viewport().mapToGlobal(point),
            )
