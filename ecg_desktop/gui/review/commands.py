"""Undoable edits (``QUndoCommand``). Each applies its change to the pane at once and stores
it through the review use cases; undo stores the previous value the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtGui import QUndoCommand

from ecg_desktop.domain.editing import SegmentsEdit


class EditTarget(Protocol):
    def apply_word_text(self, row: int, word: int, text: str) -> None: ...

    def apply_segment_speaker(self, row: int, speaker_id: str) -> None: ...

    def apply_speaker_name(self, speaker_id: str, name: str) -> None: ...

    def apply_segments_edit(self, edit: SegmentsEdit) -> None: ...

    def apply_merge(self, source_id: str, target_id: str, rows: Sequence[int]) -> None: ...

    def apply_unmerge(self, source_id: str, rows: Sequence[int], name: str | None) -> None: ...


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


class SegmentsEditCommand(QUndoCommand):
    """A retyped, split, joined, retimed or re-voiced segment (domain/editing.py)."""

    def __init__(self, target: EditTarget, edit: SegmentsEdit, text: str) -> None:
        super().__init__(text)
        self._target, self._edit = target, edit

    def redo(self) -> None:
        self._target.apply_segments_edit(self._edit)

    def undo(self) -> None:
        self._target.apply_segments_edit(self._edit.inverse())


class MergeSpeakersCommand(QUndoCommand):
    """``source_id``'s segments (``rows``) given to ``target_id``; undo gives them back,
    with ``source_id``'s name."""

    def __init__(self, target: EditTarget, source_id: str, target_id: str,
                 rows: Sequence[int], name: str | None, text: str) -> None:
        super().__init__(text)
        self._target, self._source, self._into = target, source_id, target_id
        self._rows, self._name = tuple(rows), name

    def redo(self) -> None:
        self._target.apply_merge(self._source, self._into, self._rows)

    def undo(self) -> None:
        self._target.apply_unmerge(self._source, self._rows, self._name)
