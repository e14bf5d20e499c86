"""The colour legend of the word colouring: a ramp from the low to the high value."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from .palette import FeatureScale, ramp_stops


class ColourLegend(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale: FeatureScale | None = None
        self.setMinimumWidth(220)

    def set_scale(self, scale: FeatureScale | None) -> None:
        self.scale = scale
        self.setVisible(scale is not None)
        self.update()

    def labels(self) -> tuple[str, str]:
        if self.scale is None:
            return "", ""
        unit = self.scale.unit
        return f"{self.scale.low:.0f} {unit}", f"{self.scale.high:.0f} {unit}"

    def sizeHint(self) -> QSize:
        return QSize(240, self.fontMetrics().height() + 4)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.scale is None:
            return
        painter = QPainter(self)
        low, high = self.labels()
        metrics = self.fontMetrics()
        left_w = metrics.horizontalAdvance(low) + 6
        right_w = metrics.horizontalAdvance(high) + 6
        bar = QRectF(left_w, 3, max(self.width() - left_w - right_w, 20), self.height() - 6)
        gradient = QLinearGradient(QPointF(bar.left(), 0), QPointF(bar.right(), 0))
        stops = ramp_stops()
        for number, colour in enumerate(stops):
            gradient.setColorAt(number / (len(stops) - 1), colour)
        painter.fillRect(bar, gradient)
        painter.setPen(self.palette().text().color())
        painter.drawText(QRectF(0, 0, left_w - 4, self.height()),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), low)
        painter.drawText(QRectF(bar.right() + 4, 0, right_w, self.height()),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), high)
