"""``TimesDialog``: type a segment's or a word's start and end (``01:15.500``, ``75.5``)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from .timeline import format_exact, parse_time


class TimesDialog(QDialog):
    def __init__(self, parent: QWidget | None, title: str, start: float, end: float) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.start = QLineEdit(format_exact(start), self)
        self.end = QLineEdit(format_exact(end), self)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #a33;")
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(self.tr("Start:"), self.start)
        form.addRow(self.tr("End:"), self.end)
        form.addRow(self.error)
        form.addRow(buttons)
        self.chosen: tuple[float, float] | None = None

    def accept(self) -> None:
        try:
            start, end = parse_time(self.start.text()), parse_time(self.end.text())
        except ValueError:
            self._refuse(self.tr("Type times as 01:15.500 or 75.5 (seconds)."))
            return
        if end <= start:
            self._refuse(self.tr("The end must come after the start."))
            return
        self.chosen = (start, end)
        super().accept()

    def _refuse(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


def ask_times(
    parent: QWidget | None, title: str, start: float, end: float
) -> tuple[float, float] | None:
    """The start and end the user typed, or ``None`` if they cancelled."""
    dialog = TimesDialog(parent, title, start, end)
    try:
        return dialog.chosen if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()
