"""``TranscriptView``: the list of segments, painted by ``SegmentDelegate``.

It turns clicks into ``wordClicked(row, word)`` / ``segmentClicked(row)`` (rows are
transcript segment indices, not proxy rows) and asks for a context menu with
``wordMenuRequested``.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from .qt_segment_delegate import SegmentDelegate
from .qt_segment_model import ROW_ROLE


class TranscriptView(QListView):
    wordClicked = Signal(int, int)
    segmentClicked = Signal(int)
    wordMenuRequested = Signal(int, int, QPoint)  # row, word (-1: none), global position

    def __init__(self, delegate: SegmentDelegate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._delegate = delegate
        self.setItemDelegate(delegate)
        self.setUniformItemSizes(False)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_menu)
        self.verticalScrollBar().setSingleStep(24)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._delegate.width = max(self.viewport().width(), 200)
        super().resizeEvent(event)

    def hit(self, point: QPoint) -> tuple[QModelIndex, int | None]:
        """The segment (proxy index) and word under a viewport point."""
        index = self.indexAt(point)
        if not index.isValid():
            return index, None
        return index, self._delegate.word_at(self.visualRect(index), index, QPointF(point))

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
