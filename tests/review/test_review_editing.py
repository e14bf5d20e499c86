"""Editing in the review pane like in a subtitle editor: each edit shows at once, is stored
beside the raw result, undoes and redoes, and the keys and dialogs reach it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import QEvent, QItemSelectionModel, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QInputDialog, QWidget
from pytestqt.qtbot import QtBot

from ecg_desktop.domain import Job, Transcript
from ecg_desktop.gui.review import ReviewPane
from ecg_desktop.gui.review.qt_segment_model import Column
from ecg_desktop.gui.review.qt_times_dialog import TimesDialog
from ecg_desktop.store import SqlJobStore

from .conftest import Runner, add_completed, shown_pane, stored_transcript
from .factory import analyzer_result


@pytest.fixture
def pane(qtbot: QtBot, core: SimpleNamespace) -> ReviewPane:
    return shown_pane(qtbot, core, 1300, 850)


@pytest.fixture
def job(run: Runner, store: SqlJobStore, pane: ReviewPane) -> Job:
    job = run(add_completed(store, analyzer_result(10, words_per_segment=(5, 8))))
    run(pane.show_job(job))
    run.until(lambda: pane.view.indexAt(QPoint(200, 10)).isValid())
    return job


def _settled(run: Runner, pane: ReviewPane, store: SqlJobStore, job: Job) -> Transcript:
    """What the store holds once the pane's writes are done; it is what the pane shows."""
    run(pane.wait_idle())
    stored = stored_transcript(run, store, job.job_id)
    assert stored == pane.model.transcript
    return stored


def test_retyping_a_segment_keeps_matching_times_and_undoes(
    run: Runner, store: SqlJobStore, pane: ReviewPane, job: Job,
) -> None:
    original = pane.model.transcript
    words = original.segments[2].words
    text = " ".join([words[0].text, "inserted", *(w.text for w in words[1:])])
    pane.edits.edit_segment_text(2, text)
    stored = _settled(run, pane, store, job)
    segment = stored.segments[2]
    assert segment.text == text
    assert pane.model.index(2, Column.TEXT).data() == text
    assert segment.words[0] == words[0] and segment.words[2] == words[1]
    assert segment.words[1].edited and words[0].end <= segment.words[1].start
    pane.undo_stack.undo()
    assert _settled(run, pane, store, job) == original
    pane.undo_stack.redo()
    assert _settled(run, pane, store, job).segments[2].text == text


def test_split_join_and_a_word_of_another_speaker(
    run: Runner, store: SqlJobStore, pane: ReviewPane, job: Job,
) -> None:
    original = pane.model.transcript
    pane.edits.split(3, 2)
    stored = _settled(run, pane, store, job)
    assert pane.model.rowCount() == pane.proxy.rowCount() == 11
    assert stored.segments[3].words == original.segments[3].words[:2]
    assert stored.segments[4].words == original.segments[3].words[2:]

    # the layouts kept for the rows that moved are theirs (not their old neighbour's)
    for row in range(pane.model.rowCount()):
        assert pane.delegate.layout(row) == pane.delegate._compute(row)

    pane.edits.join(3)
    assert _settled(run, pane, store, job) == original
    for row in range(pane.model.rowCount()):
        assert pane.delegate.layout(row) == pane.delegate._compute(row)

    speaker = pane.edits.new_speaker_id()
    pane.edits.change_word_speaker(5, 1, speaker)
    stored = _settled(run, pane, store, job)
    assert [s.speaker_id for s in stored.segments[5:8]] == [
        original.segments[5].speaker_id, speaker, original.segments[5].speaker_id]
    assert pane.speakers.rowCount() == 3
    assert speaker in pane.plots.legend_names()
    for _ in range(3):
        pane.undo_stack.undo()
    assert _settled(run, pane, store, job) == original
    assert pane.speakers.rowCount() == 2


def test_typed_times_move_a_segment_and_a_word(
    run: Runner, store: SqlJobStore, pane: ReviewPane, job: Job, qtbot: QtBot,
) -> None:
    segment = pane.model.segment(4)
    dialog = TimesDialog(pane, "Segment times", segment.start, segment.end)
    qtbot.addWidget(dialog)
    dialog.start.setText("nonsense")
    dialog.accept()
    assert dialog.error.isVisibleTo(dialog) and dialog.chosen is None
    dialog.start.setText(f"{segment.start + 0.2:.3f}")
    dialog.accept()
    assert dialog.chosen == (round(segment.start + 0.2, 3), segment.end)

    assert dialog.chosen is not None
    pane.edits.retime_segment(4, *dialog.chosen)
    stored = _settled(run, pane, store, job)
    assert stored.segments[4].start == round(segment.start + 0.2, 3)
    assert all(w.start >= stored.segments[4].start for w in stored.segments[4].words)

    word = stored.segments[6].words[-1]
    pane.edits.retime_word(6, len(stored.segments[6].words) - 1, word.start, word.end + 0.3)
    stored = _settled(run, pane, store, job)
    assert stored.segments[6].words[-1].end == round(word.end + 0.3, 3)
    assert stored.segments[6].end >= round(word.end + 0.3, 3)


def test_alt_arrows_nudge_the_current_segment_by_50_ms(
    run: Runner, store: SqlJobStore, pane: ReviewPane, job: Job, qtbot: QtBot,
) -> None:
    segment = pane.model.segment(5)
    pane.view.setFocus()
    pane.view.selectionModel().setCurrentIndex(
        pane.proxy.mapFromSource(pane.model.index(5, 0)),
        QItemSelectionModel.SelectionFlag.ClearAndSelect)
    qtbot.keyClick(pane.view, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(pane.view, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(pane.view, Qt.Key.Key_Left,
                   Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier)
    stored = _settled(run, pane, store, job).segments[5]
    assert stored.start == pytest.approx(segment.start + 0.1)
    assert stored.end == pytest.approx(segment.end - 0.05)
    assert pane.undo_stack.count() == 3


def test_alt_arrows_nudge_the_word_last_clicked(
    run: Runner, store: SqlJobStore, pane: ReviewPane, job: Job, qtbot: QtBot,
) -> None:
    segment = pane.model.segment(3)
    index = pane.proxy.mapFromSource(pane.model.index(3, 0))
    rect = pane.view.visualRect(index)
    word_centre = pane.delegate.word_rect(rect, index, 2).center().toPoint()
    qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=word_centre)
    qtbot.keyClick(pane.view, Qt.Key.Key_Right,
                   Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier)
    stored = _settled(run, pane, store, job).segments[3]
    assert stored.words[2].end == pytest.approx(segment.words[2].end + 0.05)
    assert stored.words[2].start == segment.words[2].start
    assert (stored.start, stored.end) == (segment.start, segment.end)

    # a click on the segment's time: the keys move the segment again
    qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton,
                     pos=rect.topLeft() + QPoint(20, 10))
    qtbot.keyClick(pane.view, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert _settled(run, pane, store, job).segments[3].start == pytest.approx(
        segment.start + 0.05)


def test_f2_edits_the_current_segments_text(
    run: Runner, store: SqlJobStore, pane: ReviewPane, job: Job, qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def answer(*args: object) -> tuple[str, bool]:
        asked.append(str(args[-1]))
        return "A whole new sentence", True

    monkeypatch.setattr(QInputDialog, "getMultiLineText", answer)
    pane.view.setFocus()
    pane.view.selectionModel().setCurrentIndex(
        pane.proxy.mapFromSource(pane.model.index(1, 0)),
        QItemSelectionModel.SelectionFlag.ClearAndSelect)
    old = pane.model.segment(1).text
    qtbot.keyClick(pane.view, Qt.Key.Key_F2)
    assert asked == [old]
    assert _settled(run, pane, store, job).segments[1].text == "A whole new sentence"
    assert all(w.edited for w in pane.model.segment(1).words)


def test_a_refused_edit_says_why_and_changes_nothing(
    run: Runner, store: SqlJobStore, pane: ReviewPane, job: Job,
) -> None:
    pane.edits.edit_segment_text(0, "   ")
    assert pane.notice.isVisibleTo(pane) and "empty" in pane.notice.text()
    assert pane.undo_stack.count() == 0
    assert _settled(run, pane, store, job).segments[0].text


def _drag(qtbot: QtBot, widget: QWidget, start: QPoint, end: QPoint) -> None:
    """A real left-button drag (QTest's mouseMove cannot hold a button down), at a hand's
    pace: pyqtgraph drops mouse moves closer together than its ``mouseRateLimit``."""
    def send(kind: QEvent.Type, at: QPoint, buttons: Qt.MouseButton) -> None:
        point = QPointF(at)
        QApplication.sendEvent(widget, QMouseEvent(
            kind, point, QPointF(widget.mapToGlobal(at)), Qt.MouseButton.LeftButton,
            buttons, Qt.KeyboardModifier.NoModifier))

    send(QEvent.Type.MouseMove, start, Qt.MouseButton.NoButton)  # hovered first, as a user does
    qtbot.wait(30)
    send(QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    for step in range(1, 11):
        at = start + (end - start) * (step / 10)
        qtbot.wait(30)
        send(QEvent.Type.MouseMove, at, Qt.MouseButton.LeftButton)
    qtbot.wait(30)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)


def test_dragging_a_segments_edge_on_the_plot_moves_it(
    run: Runner, store: SqlJobStore, pane: ReviewPane, job: Job, qtbot: QtBot,
) -> None:
    pane.select_segment(4)
    segment = pane.model.segment(4)
    region = pane.plots.segment_region
    assert region.isVisible()
    assert region.getRegion() == pytest.approx((segment.start, segment.end))
    plot = pane.plots.plots["volume_db"]
    plot.setXRange(segment.start - 2, segment.end + 2, padding=0)
    qtbot.wait(50)
    middle = sum(plot.vb.viewRange()[1]) / 2

    def at(seconds: float) -> QPoint:
        scene: QPointF = plot.vb.mapViewToScene(QPointF(seconds, middle))
        return QPoint(pane.plots.mapFromScene(scene))

    _drag(qtbot, pane.plots.viewport(), at(segment.end), at(segment.end + 0.5))
    stored = _settled(run, pane, store, job).segments[4]
    assert stored.end == pytest.approx(segment.end + 0.5, abs=0.05)
    assert stored.start == segment.start
    assert region.getRegion() == pytest.approx((stored.start, stored.end))
    pane.undo_stack.undo()
    assert _settled(run, pane, store, job).segments[4] == segment


def test_edited_words_are_marked(
    run: Runner, store: SqlJobStore, pane: ReviewPane, job: Job,
) -> None:
    assert "Edited by you" not in pane.delegate.tooltip(2, 1)
    pane.edits.edit_word(2, 1, "Seoul")
    run(pane.wait_idle())
    assert "Edited by you" in pane.delegate.tooltip(2, 1)
    assert "Edited by you" not in pane.delegate.tooltip(2, 0)
    pane.view.viewport().repaint()  # the dotted mark paints without error
