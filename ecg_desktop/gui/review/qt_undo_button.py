"""``UndoButton``: "Undo" or "Redo" of a ``QUndoStack``, with what it would undo in its
tooltip. A short fixed label, unlike the stack's own actions ("Undo “cat” → “dog”"), whose
long text took the room of the review pane's title."""

from __future__ import annotations

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QToolButton, QWidget


class UndoButton(QToolButton):
    def __init__(self, stack: QUndoStack, *, redo: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._redo = redo
        self._what = ""
        self.clicked.connect(stack.redo if redo else stack.undo)
        enabled = stack.canRedoChanged if redo else stack.canUndoChanged
        enabled.connect(self.setEnabled)
        (stack.redoTextChanged if redo else stack.undoTextChanged).connect(self._on_text)
        self.setEnabled(stack.canRedo() if redo else stack.canUndo())
        self._what = stack.redoText() if redo else stack.undoText()
        self.retranslate()

    def retranslate(self) -> None:
        if self._redo:
            self.setText(self.tr("Redo"))
            self.setToolTip(self.tr("Redo %s") % self._what if self._what else "")
        else:
            self.setText(self.tr("Undo"))
            self.setToolTip(self.tr("Undo %s") % self._what if self._what else "")

    def _on_text(self, text: str) -> None:
        self._what = text
        self.retranslate()
