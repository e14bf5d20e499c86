"""``ReviewEdits``: the review pane's edits, like a subtitle editor's.

Each edit is computed by domain/editing.py (or is a word, speaker or name change), pushed on
the pane's ``QUndoStack`` as a command, shown at once and stored through ``TranscriptEditor``
(app/review.py). This class holds the edit side of the pane: the commands' target, the
context menu, the dialogs and the keys that move a segment's edges.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from ecg_desktop.domain import Transcript
from ecg_desktop.domain import editing as edits
from ecg_desktop.domain.editing import SegmentsEdit

from .commands import (
    EditWordCommand,
    MergeSpeakersCommand,
    RenameSpeakerCommand,
    SegmentsEditCommand,
    SegmentSpeakerCommand,
)
from .qt_times_dialog import ask_times

if TYPE_CHECKING:
    from .qt_review_pane import ReviewPane

logger = logging.getLogger(__name__)

# Alt+arrows move the start of the word last clicked (else of the current segment),
# Alt+Shift+arrows its end, by NUDGE_SECONDS.
NUDGE_KEYS = {
    "Alt+Left": (-edits.NUDGE_SECONDS, 0.0),
    "Alt+Right": (edits.NUDGE_SECONDS, 0.0),
    "Alt+Shift+Left": (0.0, -edits.NUDGE_SECONDS),
    "Alt+Shift+Right": (0.0, edits.NUDGE_SECONDS),
}
EDIT_TEXT_KEY = "F2"


class ReviewEdits(QObject):
    def __init__(self, pane: ReviewPane) -> None:
        super().__init__(pane)
        self._pane = pane
        self.selected_word: tuple[int, int] | None = None  # (row, word) last clicked
        for keys, (start, end) in NUDGE_KEYS.items():
            what = (self.tr("Move the segment's start") if start else
                    self.tr("Move the segment's end"))
            self._shortcut(keys, what).activated.connect(
                partial(self._nudge_current, start, end))
        self._shortcut(EDIT_TEXT_KEY, self.tr("Edit segment text")).activated.connect(
            self._edit_current_text)

    def _shortcut(self, keys: str, what: str) -> QShortcut:
        """A key of the transcript (not of the window: Alt+arrows mean more elsewhere);
        ``what`` names it in Help → Keyboard shortcuts."""
        shortcut = QShortcut(QKeySequence(keys), self._pane.view)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.setWhatsThis(what)
        return shortcut

    @property
    def _transcript(self) -> Transcript:
        return self._pane.model.transcript

    # -- edits (each one command on the undo stack) ---------------------------------------

    def edit_word(self, row: int, word: int, text: str) -> None:
        text = " ".join(text.split())
        old = self._transcript.segments[row].words[word].text
        if text and text != old:
            self._pane.undo_stack.push(EditWordCommand(self, row, word, old, text))

    def change_segment_speaker(self, row: int, speaker_id: str) -> None:
        old = self._transcript.segments[row].speaker_id
        if speaker_id and speaker_id != old:
            self._pane.undo_stack.push(SegmentSpeakerCommand(self, row, old, speaker_id))

    def rename_speaker(self, speaker_id: str, name: str) -> None:
        old = self._transcript.display_name(speaker_id)
        if name and name != old:
            self._pane.undo_stack.push(RenameSpeakerCommand(self, speaker_id, old, name))

    def merge_speakers(self, source_id: str, target_id: str) -> None:
        transcript = self._transcript
        if source_id == target_id or self._pane.job is None:
            return
        text = self.tr("%s merged into %s") % (transcript.display_name(source_id),
                                              transcript.display_name(target_id))
        self._pane.undo_stack.push(MergeSpeakersCommand(
            self, source_id, target_id, edits.speaker_rows(transcript, source_id),
            transcript.speaker_names.get(source_id), text))

    def edit_segment_text(self, row: int, text: str) -> None:
        if " ".join(text.split()) != self._transcript.segments[row].text:
            self._push(lambda t: edits.retext_segment(t, row, text), self.tr("Segment text"))

    def split(self, row: int, word: int) -> None:
        self._push(lambda t: edits.split_segment(t, row, word), self.tr("Split segment"))

    def join(self, row: int) -> None:
        self._push(lambda t: edits.join_segments(t, row), self.tr("Join segments"))

    def change_word_speaker(self, row: int, word: int, speaker_id: str) -> None:
        if speaker_id != self._transcript.segments[row].speaker_id:
            self._push(lambda t: edits.reassign_word(t, row, word, speaker_id),
                       self.tr("Speaker of a word"))

    def retime_segment(self, row: int, start: float, end: float) -> None:
        self._push(lambda t: edits.retime_segment(t, row, start, end),
                   self.tr("Segment times"))

    def retime_word(self, row: int, word: int, start: float, end: float) -> None:
        self._push(lambda t: edits.retime_word(t, row, word, start, end),
                   self.tr("Word times"))

    def nudge(self, row: int, start: float = 0.0, end: float = 0.0) -> None:
        self._push(lambda t: edits.nudge_segment(t, row, start=start, end=end),
                   self.tr("Segment times"))

    def nudge_word(self, row: int, word: int, start: float = 0.0, end: float = 0.0) -> None:
        self._push(lambda t: edits.nudge_word(t, row, word, start=start, end=end),
                   self.tr("Word times"))

    def _push(self, make: Callable[[Transcript], SegmentsEdit], text: str) -> None:
        try:
            edit = make(self._transcript)
        except ValueError as error:
            self._pane.show_notice(self.tr("Not changed: %s") % error)
            return
        if edit.new != edit.old:
            self._pane.undo_stack.push(SegmentsEditCommand(self, edit, text))

    # -- what the commands do (EditTarget) ----------------------------------------------

    def apply_word_text(self, row: int, word: int, text: str) -> None:
        pane = self._pane
        pane.model.set_word_text(row, word, text)
        pane.refresh_search()
        if pane.job is not None:
            pane.write(pane.editor.set_word_text(pane.job.job_id, row, word, text))

    def apply_segment_speaker(self, row: int, speaker_id: str) -> None:
        pane = self._pane
        pane.model.show_segment_speaker(row, speaker_id)
        pane.refresh_after_edit()
        if pane.job is not None:
            pane.write(pane.editor.save_segment_speaker(pane.job.job_id, row, speaker_id))

    def apply_speaker_name(self, speaker_id: str, name: str) -> None:
        pane = self._pane
        names = dict(self._transcript.speaker_names)
        names[speaker_id] = name
        pane.model.set_speaker_names(names)
        pane.refresh_after_edit(plots=False)
        pane.plots.set_names(self._transcript)
        if pane.job is not None:
            pane.write(pane.editor.rename_speaker(pane.job.job_id, speaker_id, name))

    def apply_segments_edit(self, edit: SegmentsEdit) -> None:
        pane = self._pane
        try:
            pane.model.apply_edit(edit)
        except ValueError:  # the transcript was reloaded (edited elsewhere) meanwhile
            self._give_up()
            return
        if len(edit.old) != len(edit.new):
            self.selected_word = None  # its row may now be another segment
        pane.refresh_after_edit()
        pane.select_segment(edit.first)
        if pane.job is not None:
            pane.write(pane.editor.apply(pane.job.job_id, edit))

    def apply_merge(self, source_id: str, target_id: str, rows: Sequence[int]) -> None:
        pane = self._pane
        transcript = edits.reassign(self._transcript, rows, target_id)
        names = {k: v for k, v in transcript.speaker_names.items() if k != source_id}
        pane.model.replace_transcript(transcript.with_speaker_names(names))
        pane.refresh_after_edit()
        if pane.job is not None:
            pane.write(pane.editor.merge_speakers(pane.job.job_id, source_id, target_id))

    def apply_unmerge(self, source_id: str, rows: Sequence[int], name: str | None) -> None:
        pane = self._pane
        transcript = edits.reassign(self._transcript, rows, source_id)
        names = dict(transcript.speaker_names)
        if name:
            names[source_id] = name
        pane.model.replace_transcript(transcript.with_speaker_names(names))
        pane.refresh_after_edit()
        if pane.job is not None:
            pane.write(pane.editor.unmerge_speakers(pane.job.job_id, source_id, rows, name))

    def _give_up(self) -> None:
        self._pane.show_notice(self.tr(
            "The transcript changed elsewhere: the edits made before cannot be undone."))
        QTimer.singleShot(0, self._pane.undo_stack.clear)  # not from inside undo()

    # -- keys ----------------------------------------------------------------------------

    def _current_row(self) -> int | None:
        index = self._pane.view.currentIndex()
        return self._pane.proxy.mapToSource(index).row() if index.isValid() else None

    def _nudge_current(self, start: float, end: float) -> None:
        row = self._current_row()
        if row is None:
            return
        if self.selected_word is not None and self.selected_word[0] == row:
            self.nudge_word(row, self.selected_word[1], start, end)
        else:
            self.nudge(row, start, end)

    def _edit_current_text(self) -> None:
        row = self._current_row()
        if row is not None:
            self.ask_segment_text(row)

    # -- menu and dialogs ----------------------------------------------------------------

    def show_menu(self, row: int, word: int, where: QPoint) -> None:
        pane = self._pane
        menu = QMenu(pane)
        segment = self._transcript.segments[row]
        has_word = 0 <= word < len(segment.words)
        if has_word:
            menu.addAction(self.tr("Play from this word"),
                           lambda: pane.play_from(segment.words[word].start))
        else:
            menu.addAction(self.tr("Play this segment"), lambda: pane.play_from(segment.start))
        menu.addSeparator()
        if has_word:
            menu.addAction(self.tr("Correct word…"), lambda: self._ask_word(row, word))
        menu.addAction(self.tr("Edit segment text…") + f"\t{EDIT_TEXT_KEY}",
                       lambda: self.ask_segment_text(row))
        if has_word and word > 0:
            menu.addAction(self.tr("Split before this word"), lambda: self.split(row, word))
        if row + 1 < len(self._transcript.segments):
            menu.addAction(self.tr("Join with the next segment"), lambda: self.join(row))
        menu.addAction(self.tr("Segment times…"), lambda: self._ask_segment_times(row))
        if has_word:
            menu.addAction(self.tr("Word times…"), lambda: self._ask_word_times(row, word))
        menu.addSeparator()
        self._speaker_menu(menu.addMenu(self.tr("Speaker of this segment")), segment.speaker_id,
                           lambda s: self.change_segment_speaker(row, s))
        if has_word and len(segment.words) > 1:
            self._speaker_menu(menu.addMenu(self.tr("Speaker of this word")),
                               segment.speaker_id,
                               lambda s: self.change_word_speaker(row, word, s))
        menu.exec(where)

    def _speaker_menu(self, menu: QMenu, current: str, choose: Callable[[str], None]) -> None:
        for speaker_id in self._transcript.speaker_ids:
            action = menu.addAction(self._transcript.display_name(speaker_id))
            action.setCheckable(True)
            action.setChecked(speaker_id == current)
            action.triggered.connect(lambda _=False, s=speaker_id: choose(s))
        menu.addSeparator()
        menu.addAction(self.tr("New speaker"), lambda: choose(self.new_speaker_id()))

    def new_speaker_id(self) -> str:
        known = set(self._transcript.speaker_ids)
        number = len(known)
        while f"SPEAKER_{number:02d}" in known:
            number += 1
        return f"SPEAKER_{number:02d}"

    def _ask_word(self, row: int, word: int) -> None:
        old = self._transcript.segments[row].words[word].text
        text, ok = QInputDialog.getText(self._parent(), self.tr("Correct word"),
                                        self.tr("Word:"), text=old)
        if ok:
            self.edit_word(row, word, text)

    def ask_segment_text(self, row: int) -> None:
        old = self._transcript.segments[row].text
        text, ok = QInputDialog.getMultiLineText(
            self._parent(), self.tr("Edit segment text"),
            self.tr("Words that still match keep their times; new ones share the time of "
                    "those they replace."), old)
        if ok:
            self.edit_segment_text(row, text)

    def _ask_segment_times(self, row: int) -> None:
        segment = self._transcript.segments[row]
        times = ask_times(self._parent(), self.tr("Segment times"), segment.start, segment.end)
        if times is not None:
            self.retime_segment(row, *times)

    def _ask_word_times(self, row: int, word: int) -> None:
        spoken = self._transcript.segments[row].words[word]
        title = self.tr("Times of “%s”") % spoken.text
        times = ask_times(self._parent(), title, spoken.start, spoken.end)
        if times is not None:
            self.retime_word(row, word, *times)

    def _parent(self) -> QWidget:
        return self._pane
