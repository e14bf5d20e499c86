"""The find bar: a query, case and whole-word options, the hit count, next/previous, and a
switch that filters the pane to matching segments."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from .search import SearchOptions


class SearchBar(QWidget):
    changed = Signal()  # query or options changed
    nextRequested = Signal()
    previousRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = QLineEdit(self)
        self.field.setClearButtonEnabled(True)
        self.field.setMinimumWidth(150)
        self.case = QCheckBox(self)
        self.whole = QCheckBox(self)
        self.only = QCheckBox(self)
        self.previous = QToolButton(self)
        self.previous.setText("▲")
        self.next = QToolButton(self)
        self.next.setText("▼")
        self.count = QLabel(self)
        self.count.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.field, self.count, self.previous, self.next, self.case, self.whole,
                       self.only):
            layout.addWidget(widget)
        layout.setStretch(0, 1)
        self.field.textChanged.connect(self.changed)
        self.case.toggled.connect(self.changed)
        self.whole.toggled.connect(self.changed)
        self.only.toggled.connect(self.changed)
        self.field.returnPressed.connect(self.nextRequested)
        self.field.installEventFilter(self)
        self.next.clicked.connect(self.nextRequested)
        self.previous.clicked.connect(self.previousRequested)
        self._shown: tuple[int | None, int] = (None, 0)
        self.retranslate()

    def retranslate(self) -> None:
        self.field.setPlaceholderText(self.tr("Find in transcript"))
        self.case.setText(self.tr("Aa"))
        self.case.setToolTip(self.tr("Match case"))
        self.whole.setText(self.tr("Whole words"))
        self.only.setText(self.tr("Filter"))
        self.only.setToolTip(self.tr("Show only the segments that match"))
        self.previous.setToolTip(self.tr("Previous match (Shift+Enter)"))
        self.next.setToolTip(self.tr("Next match (Enter)"))
        # as wide as the widest count it may show, so that none is cut and it never jumps
        metrics = self.count.fontMetrics()
        widest = max(metrics.horizontalAdvance(text) for text in (
            self.tr("No matches"), self.tr("%s of %d") % ("99999", 99999)))
        self.count.setFixedWidth(widest + 4)
        self.show_count(*self._shown)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.field and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.previousRequested.emit()
            return True
        return super().eventFilter(watched, event)

    @property
    def query(self) -> str:
        return self.field.text()

    @property
    def options(self) -> SearchOptions:
        return SearchOptions(self.case.isChecked(), self.whole.isChecked())

    def show_count(self, current: int | None, total: int) -> None:
        self._shown = (current, total)
        if not self.query.strip():
            self.count.setText("")
        elif total == 0:
            self.count.setText(self.tr("No matches"))
        else:
            shown = "–" if current is None else str(current + 1)
            self.count.setText(self.tr("%s of %d") % (shown, total))
