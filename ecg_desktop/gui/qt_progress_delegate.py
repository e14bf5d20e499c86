"""``QtProgressDelegate``: draws the progress column as a bar carrying the model's text
(bytes, speed and time left while uploading; the ML stage message while analysing).

No per-row widgets, and no style call per cell either: a rounded track, a filled part and
the text, drawn with the palette. The rows repaint several times a second while jobs run,
and the style's progress bar costs about ten times as much to draw.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .qt_job_model import PROGRESS_ROLE


class QtProgressDelegate(QStyledItemDelegate):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        value = index.data(PROGRESS_ROLE)
        if not value:
            super().paint(painter, option, index)
            return
        percent, text = value
        rect = option.rect
        palette: QPalette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, palette.highlight())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = QRectF(rect.adjusted(3, 4, -3, -4))
        painter.setPen(palette.mid().color())
        painter.setBrush(palette.base())
        painter.drawRoundedRect(track, 3, 3)
        fraction = max(0, min(100, int(percent))) / 100
        if fraction > 0:
            chunk = QRectF(track.x(), track.y(), track.width() * fraction, track.height())
            fill = QColor(palette.highlight().color())
            fill.setAlpha(110)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(chunk, 3, 3)
        painter.setPen(palette.text().color())
        metrics = option.fontMetrics
        shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(track.width()) - 10)
        painter.drawText(track.adjusted(5, 0, -5, 0), Qt.AlignmentFlag.AlignVCenter
                         | Qt.AlignmentFlag.AlignLeft, shown)
        painter.restore()
