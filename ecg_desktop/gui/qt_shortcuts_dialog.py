"""Help → Keyboard shortcuts: every key bound in the window (its menus' actions and the
transcript pane's own keys), read from what is really bound, so the list cannot go stale."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .i18n import tr
from .qt_window_actions import Binding, bindings


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(what it does, key) for each key bound in ``window``, each pair once, in order of
    the window's menus and then the transcript pane's keys."""
    rows: dict[tuple[str, str], None] = {}
    for binding in bindings(window, enabled_only=False):
        if binding.text:
            rows[(binding.text.rstrip("…"), _native(binding))] = None
    return list(rows)


def _native(binding: Binding) -> str:
    return QKeySequence(binding.key).toString(QKeySequence.SequenceFormat.NativeText)


class QtShortcutsDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle(tr("Keyboard shortcuts"))
        self.resize(460, 560)
        self.model = QStandardItemModel(0, 2, self)
        self.model.setHorizontalHeaderLabels([tr("Action"), tr("Key")])
        for text, key in shortcut_rows(window):
            self.model.appendRow([QStandardItem(text), QStandardItem(key)])
        table = QTableView(self)
        table.setModel(self.model)
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
