"""Help → Keyboard shortcuts: every key bound in the window (its menus' actions and the
transcript pane's own keys), read from what is really bound, so the list cannot go stale."""

from __future__ import annotations

import re

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

# Keys a standard binding adds that no ordinary keyboard has (F14, the "Undo" key, ...).
_UNTYPEABLE = re.compile(r"F(1[3-9]|[2-3]\d)|Undo|Redo|Find|Copy|Paste|Cut|Open|Close|Save|New|"
                         r"Help|Print|Refresh|Back|Forward|Stop|Menu")


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(what it does, its keys) for each action or shortcut bound in ``window``, in order of
    the window's menus and then the transcript pane's keys."""
    rows: dict[str, list[str]] = {}
    for binding in bindings(window, enabled_only=False):
        if binding.text and not _UNTYPEABLE.fullmatch(binding.key):
            keys = rows.setdefault(binding.text.rstrip("…"), [])
            if _native(binding) not in keys:
                keys.append(_native(binding))
    return [(text, ", ".join(keys)) for text, keys in rows.items()]


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
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
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
