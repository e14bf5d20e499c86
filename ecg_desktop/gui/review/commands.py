"""Undoable edits (``QUndoCommand``). Each applies its change to the pane at once and stores
it through the review use cases; undo stores the previous value the same way."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QUndoCommand


class EditTarget(Protocol):
    def apply_word_text(self, row: int, word: int, text: str) -> None: ...

    def apply_segment_speaker(self, row: int, speaker_id: str) -> None: ...

    def apply_speaker_name(self, speaker_id: str, name: str) -> None: ...


class EditWordCommand(QUndoCommand):
    def __init__(self, target: EditTarget, row: int, word: int, old: str, new: str) -> None:
        super().__init__(f"“{old}” → “{new}”")
        self._target, self._row, self._word, self._old, self._new = target, row, word, old, new

    def redo(self) -> None:
        self._target.apply_word_text(self._row, self._word, self._new)

    def undo(self) -> None:
        self._target.apply_word_text(self._row, self._word, self._old)


class SegmentSpeakerCommand(QUndoCommand):
    def __init__(self, target: EditTarget, row: int, old: str, new: str) -> None:
        super().__init__(f"{old} → {new}")
        self._target, self._row, self._old, self._new = target, row, old, new

    def redo(self) -> None:
        self._target.apply_segment_speaker(self._row, self._new)

    def undo(self) -> None:
        self._target.apply_segment_speaker(self._row, self._old)


class RenameSpeakerCommand(QUndoCommand):
    def __init__(self, target: EditTarget, speaker_id: str, old: str, new: str) -> None:
        super().__init__(f"{old} → {new}")
        self._target, self._speaker, self._old, self._new = target, speaker_id, old, new

    def redo(self) -> None:
        self._target.apply_speaker_name(self._speaker, self._new)

    def undo(self) -> None:
        self._target.apply_speaker_name(self._speaker, self._old)
