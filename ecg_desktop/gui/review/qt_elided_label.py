"""``ElidedLabel``: one line of plain text that never widens its layout."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """Cut to the width it gets, the whole text then in its tooltip. ``text()`` is the whole
    text. Given parts (``set_parts``), it drops the last parts first and keeps the first
    one, cut in the middle only when it alone is too wide: a title keeps its file name
    (start and extension) while the details beside it come and go."""

    SEPARATOR = "  ·  "

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._parts: tuple[str, ...] = ()

    def setText(self, text: str) -> None:
        self.set_parts([text])

    def set_parts(self, parts: Sequence[str]) -> None:
        self._parts = tuple(p for p in parts if p)
        self._fit()

    def text(self) -> str:
        return self.SEPARATOR.join(self._parts)

    def shown_text(self) -> str:
        """What the label shows at its width."""
        return super().text()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        metrics, width = self.fontMetrics(), max(self.width(), 1)
        whole = self.text()
        shown = whole
        for count in range(len(self._parts), 0, -1):
            shown = self.SEPARATOR.join(self._parts[:count])
            if metrics.horizontalAdvance(shown) <= width:
                break
        else:
            first = self._parts[0] if self._parts else ""
            mode = Qt.TextElideMode.ElideMiddle if len(self._parts) > 1 \
                else Qt.TextElideMode.ElideRight
            shown = metrics.elidedText(first, mode, width)
        super().setText(shown)
        self.setToolTip(whole if shown != whole else "")
