"""The review pane over a real SQLite job store: what the analyst sees and does."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pysubs2
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QToolTip
from pytestqt.qtbot import QtBot

from ecg_desktop.app.exports import to_csv, to_json, to_srt, to_txt, to_vtt
from ecg_desktop.domain import Job
from ecg_desktop.gui.review import ReviewPane
from ecg_desktop.gui.review.palette import Colouring
from ecg_desktop.gui.review.qt_segment_model import Column
from ecg_desktop.gui.review.qt_speakers import SpeakerColumn
from ecg_desktop.store import SqlJobStore
from tests.media import make_silent_video

from .conftest import Runner, add_completed, shown_pane, stored_transcript
from .factory import analyzer_result, whisperx_result


@pytest.fixture
def pane(qtbot: QtBot, core: SimpleNamespace) -> ReviewPane:
    return shown_pane(qtbot, core, 1300, 850)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_silent_video(tmp_path_factory.mktemp("media") / "talk.mp4", 30.0)


def _open(run: Runner, pane: ReviewPane, job: Job) -> None:
    run(pane.show_job(job))
    run.until(lambda: pane.view.indexAt(QPoint(200, 10)).isValid())


def _click_word(qtbot: QtBot, pane: ReviewPane, row: int, word: int) -> None:
    proxy_index = pane.proxy.mapFromSource(pane.model.index(row, 0))
    pane.view.scrollTo(proxy_index)
    rect = pane.view.visualRect(proxy_index)
    centre = pane.delegate.word_rect(rect, proxy_index, word).center().toPoint()
    qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)


@pytest.mark.parametrize("make", [analyzer_result, whisperx_result],
                         ids=["analyzer", "whisperx"])
def test_selecting_a_completed_job_fills_the_pane(
    run: Runner, store: SqlJobStore, pane: ReviewPane, make: Callable[[int], dict[str, Any]]
) -> None:
    job = run(add_completed(store, make(20)))
    _open(run, pane, job)
    transcript = stored_transcript(run, store, job.job_id)
    assert pane.model.rowCount() == len(transcript.segments) == 20
    assert pane.proxy.rowCount() == 20
    first = pane.model.index(0, Column.TEXT).data()
    assert first == " ".join(w.text for w in transcript.segments[0].words)
    assert pane.speakers.rowCount() == 2
    assert pane.plots.legend_names() == ["SPEAKER_00", "SPEAKER_01"]
    assert "20 segments" in pane.title.text()
    assert pane.notice.isVisible() == (make is whisperx_result)
    assert pane.view.grab().width() > 0  # paints without error


def test_hover_shows_time_and_features_or_not_measured(run: Runner, store: SqlJobStore,
                                                       pane: ReviewPane) -> None:
    measured = run(add_completed(store, analyzer_result(6)))
    _open(run, pane, measured)
    word = pane.model.segment(0).words[1]
    tip = pane.delegate.tooltip(0, 1)
    assert f"{word.volume_db:.1f} dB" in tip
    assert "not measured" not in tip
    # a real tooltip event on that word
    index = pane.proxy.index(0, 0)
    point = pane.delegate.word_rect(pane.view.visualRect(index), index, 1).center().toPoint()
    event = QHelpEvent(QEvent.Type.ToolTip, point, pane.view.viewport().mapToGlobal(point))
    pane.view.viewportEvent(event)
    assert word.text in QToolTip.text()

    placeholder = run(add_completed(store, whisperx_result(6)))
    _open(run, pane, placeholder)
    assert "not measured" in pane.delegate.tooltip(0, 1)
    assert "-20.0" not in pane.delegate.tooltip(0, 1)
    assert pane.speakers.index(0, SpeakerColumn.PITCH).data() == "not measured"


def test_clicking_a_word_seeks_the_player_to_its_start(run: Runner, store: SqlJobStore,
                                                       pane: ReviewPane, qtbot: QtBot,
                                                       video: Path) -> None:
    job = run(add_completed(store, analyzer_result(6), local_path=str(video)))
    _open(run, pane, job)
    player = pane.player.player
    run.until(lambda: pane.player.loaded)
    word = pane.model.segment(3).words[2]
    assert word.start * 1000 < player.duration()
    _click_word(qtbot, pane, 3, 2)
    run.until(lambda: abs(player.position() - word.start * 1000) <= 1)
    assert pane.model.current is not None
    assert (pane.model.current.segment, pane.model.current.word) == (3, 2)
    # the plot's cursor went there too (it moves at most every CURSOR_MS)
    run.until(lambda: abs(pane.plots.cursors["pitch_hz"].value() - word.start) < 1e-3, 1.0)


def test_the_highlighted_word_follows_playback(run: Runner, store: SqlJobStore,
                                               pane: ReviewPane, video: Path) -> None:
    job = run(add_completed(store, analyzer_result(8), local_path=str(video)))
    _open(run, pane, job)
    player = pane.player.player
    run.until(lambda: pane.player.loaded)
    seen: set[tuple[int, int]] = set()
    repainted: list[int] = []
    pane.model.dataChanged.connect(
        lambda top, bottom, *_: repainted.append(bottom.row() - top.row() + 1))

    def check() -> bool:
        current = pane.model.current
        if current is not None:
            word = pane.model.segment(current.segment).words[current.word]
            position = pane.player.position
            # the word shown is the one being played (the player moved on at most a tick)
            assert word.start <= position + 0.01
            seen.add((current.segment, current.word))
        return len(seen) >= 5

    player.play()
    run.until(check, timeout=20)
    player.pause()
    assert len(seen) >= 5
    assert max(repainted) == 1  # only the old and the new row repaint, one row at a time


def test_follow_keeps_the_played_word_in_view(run: Runner, store: SqlJobStore,
                                              pane: ReviewPane) -> None:
    job = run(add_completed(store, analyzer_result(150)))
    _open(run, pane, job)
    late = pane.model.segment(140)
    pane.on_position(late.words[0].start + 0.01)
    index = pane.proxy.mapFromSource(pane.model.index(140, 0))
    assert pane.view.viewport().rect().intersects(pane.view.visualRect(index))
    pane.player.follow.setChecked(False)
    pane.on_position(pane.model.segment(5).words[0].start)
    assert pane.model.current is not None
    assert pane.model.current.segment == 5
    assert pane.view.viewport().rect().intersects(pane.view.visualRect(index))  # stayed


def test_renaming_a_speaker_shows_everywhere_and_is_stored(run: Runner, store: SqlJobStore,
                                                           pane: ReviewPane) -> None:
    job = run(add_completed(store, analyzer_result(10)))
    _open(run, pane, job)
    name_index = pane.speakers.index(1, SpeakerColumn.NAME)
    assert pane.speakers.setData(name_index, "Dr. Kim", Qt.ItemDataRole.EditRole) is False
    run(pane.wait_idle())
    assert pane.speakers.index(1, SpeakerColumn.NAME).data() == "Dr. Kim"
    assert pane.model.index(1, Column.SPEAKER).data() == "Dr. Kim"  # pane rows
    assert pane.plots.legend_names() == ["SPEAKER_00", "Dr. Kim"]  # plot legend
    stored = stored_transcript(run, store, job.job_id)
    assert stored.speaker_names == {"SPEAKER_01": "Dr. Kim"}
    for export in (to_json, to_csv, to_srt, to_vtt, to_txt):
        assert "Dr. Kim" in export(stored, job), export.__name__
    subs = pysubs2.SSAFile.from_string(to_srt(stored, job), format_="srt")
    assert sum(e.plaintext.startswith("Dr. Kim: ") for e in subs) >= 5
    rows = csv.DictReader(io.StringIO(to_csv(stored, job)))
    assert {r["speaker"] for r in rows if r["speaker_id"] == "SPEAKER_01"} == {"Dr. Kim"}

    pane.undo_stack.undo()
    run(pane.wait_idle())
    assert pane.plots.legend_names() == ["SPEAKER_00", "SPEAKER_01"]


def test_correcting_a_word_is_stored_and_undo_restores_it(run: Runner, store: SqlJobStore,
                                                          pane: ReviewPane) -> None:
    job = run(add_completed(store, analyzer_result(10)))
    _open(run, pane, job)
    original = pane.model.segment(4).words[3].text
    pane.edits.edit_word(4, 3, "Seoul")
    run(pane.wait_idle())
    assert pane.model.segment(4).words[3].text == "Seoul"
    assert "Seoul" in pane.model.index(4, Column.TEXT).data()
    assert stored_transcript(run, store, job.job_id).segments[4].words[3].text == "Seoul"
    assert json.loads(to_json(stored_transcript(run, store, job.job_id), job))[
        "segments"][4]["words"][3]["word"] == "Seoul"

    pane.undo_stack.undo()
    run(pane.wait_idle())
    assert pane.model.segment(4).words[3].text == original
    assert stored_transcript(run, store, job.job_id).segments[4].words[3].text == original
    pane.undo_stack.redo()
    run(pane.wait_idle())
    assert stored_transcript(run, store, job.job_id).segments[4].words[3].text == "Seoul"
    raw = run(store.get_raw_result(job.job_id))
    assert raw is not None
    assert raw["segments"][4]["words"][3]["word"] == original  # the result stays untouched


def test_changing_a_segments_speaker_and_merging_speakers(run: Runner, store: SqlJobStore,
                                                          pane: ReviewPane) -> None:
    job = run(add_completed(store, analyzer_result(12, speakers=3, seed=3)))
    _open(run, pane, job)
    assert pane.speakers.rowCount() == 3
    before = pane.model.segment(0).speaker_id
    other = next(s for s in pane.model.transcript.speaker_ids if s != before)
    pane.edits.change_segment_speaker(0, other)
    run(pane.wait_idle())
    assert stored_transcript(run, store, job.job_id).segments[0].speaker_id == other
    assert pane.model.index(0, Column.SPEAKER).data() == other
    pane.undo_stack.undo()
    run(pane.wait_idle())
    assert stored_transcript(run, store, job.job_id).segments[0].speaker_id == before

    source, target = pane.speakers.speaker_ids()[:2]
    pane.edits.rename_speaker(source, "Ana")
    run(pane.wait_idle())
    before_merge = stored_transcript(run, store, job.job_id)
    pane.edits.merge_speakers(source, target)
    run(pane.wait_idle())
    assert source not in pane.speakers.speaker_ids()
    assert pane.speakers.rowCount() == 2
    assert source not in stored_transcript(run, store, job.job_id).speaker_ids
    assert source not in pane.model.transcript.speaker_ids
    assert len(pane.plots.legend_names()) == 2

    # a merge is undone like any edit: the speaker, their segments and name come back
    assert pane.undo_button.isEnabled() and "Ana" in pane.undo_button.toolTip()
    pane.undo_stack.undo()
    run(pane.wait_idle())
    assert stored_transcript(run, store, job.job_id) == before_merge
    assert pane.model.transcript == before_merge
    assert pane.speakers.rowCount() == 3 and "Ana" in pane.plots.legend_names()
    pane.undo_stack.redo()
    run(pane.wait_idle())
    assert source not in stored_transcript(run, store, job.job_id).speaker_ids


def test_unchecking_a_speaker_filters_the_pane(run: Runner, store: SqlJobStore,
                                               pane: ReviewPane) -> None:
    job = run(add_completed(store, analyzer_result(10)))
    _open(run, pane, job)
    pane.speakers.setData(pane.speakers.index(0, SpeakerColumn.NAME),
                          Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert pane.proxy.rowCount() == 5
    shown = {pane.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 2)
             for r in range(pane.proxy.rowCount())}
    assert shown == {"SPEAKER_01"}


def test_search_finds_every_occurrence(run: Runner, store: SqlJobStore, pane: ReviewPane,
                                       qtbot: QtBot) -> None:
    raw = analyzer_result(60, words_per_segment=(8, 12), vocabulary=["the", "Theatre", "is",
                                                                     "other", "bathe"])
    job = run(add_completed(store, raw))
    _open(run, pane, job)
    words = [w.text for _, w in pane.model.transcript.words()]
    expected_whole = words.count("the")
    expected_any = sum(w.lower().count("the") for w in words)
    assert expected_whole > 100

    qtbot.keyClicks(pane.search.field, "the")
    assert len(pane.model.hits) == expected_any
    assert pane.search.count.text() == f"1 of {expected_any}"
    pane.search.whole.setChecked(True)
    assert len(pane.model.hits) == expected_whole
    pane.search.case.setChecked(True)
    pane.search.whole.setChecked(False)
    assert len(pane.model.hits) == sum(w.count("the") for w in words)
    pane.search.case.setChecked(False)
    pane.search.whole.setChecked(True)
    # every hit is highlighted in its row
    for hit in pane.model.hits:
        hits, current = pane.model.highlighted_words(hit.segment)
        assert hit.first_word in hits | current
        assert pane.model.segment(hit.segment).words[hit.first_word].text == "the"
    pane.step_hit(-1)
    assert pane.model.current_hit == expected_whole - 1  # wraps around
    assert pane.search.count.text() == f"{expected_whole} of {expected_whole}"
    qtbot.keyClick(pane.search.field, Qt.Key.Key_Return)
    assert pane.model.current_hit == 0
    qtbot.keyClick(pane.search.field, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert pane.model.current_hit == expected_whole - 1
    qtbot.keyClick(pane.search.field, Qt.Key.Key_Return)
    assert pane.model.current_hit == 0
    pane.step_hit(1)
    row = pane.model.hits[1].segment
    index = pane.proxy.mapFromSource(pane.model.index(row, 0))
    assert pane.view.viewport().rect().intersects(pane.view.visualRect(index))

    pane.search.only.setChecked(True)
    assert pane.proxy.rowCount() == len({h.segment for h in pane.model.hits})


def test_colouring_by_loudness_or_pitch_has_a_legend(run: Runner, store: SqlJobStore,
                                                     pane: ReviewPane) -> None:
    job = run(add_completed(store, analyzer_result(10)))
    _open(run, pane, job)
    assert not pane.legend.isVisible()
    pane.colouring.setCurrentIndex(pane.colouring.findData(Colouring.PITCH))
    assert pane.legend.isVisible()
    low, high = pane.legend.labels()
    assert low.endswith("Hz") and high.endswith("Hz")
    assert float(low.split()[0]) < float(high.split()[0])
    segment = pane.model.segment(0)
    values = [pane.model.word_colour_value(0, i) for i in range(len(segment.words))]
    assert values == [w.pitch_hz for w in segment.words]
    pane.set_colouring(Colouring.LOUDNESS)
    assert pane.legend.labels()[0].endswith("dB")

    placeholder = run(add_completed(store, whisperx_result(5)))
    _open(run, pane, placeholder)
    assert not pane.legend.isVisible()  # nothing measured: nothing to colour by


def test_switching_to_korean_retranslates_the_pane(run: Runner, store: SqlJobStore,
                                                   pane: ReviewPane) -> None:
    from ecg_desktop.gui.i18n import Translations

    job = run(add_completed(store, whisperx_result(4)))
    _open(run, pane, job)
    translations = Translations()
    try:
        translations.apply("ko")
        run.until(lambda: pane.search.whole.text() == "단어 단위")
        assert pane.colouring.itemText(2) == "음높이로 색칠"
        assert pane.speakers.headerData(0, Qt.Orientation.Horizontal) == "화자"
        assert "구간 4개" in pane.title.text()
        assert "측정되지 않음" in pane.notice.text()
        assert pane.player.play_button.text() == "재생"
        assert "측정하지 않음" in pane.delegate.tooltip(0, 0)
    finally:
        translations.apply("en")
    run.until(lambda: pane.search.whole.text() == "Whole words")
    assert "4 segments" in pane.title.text()


def test_where_a_job_without_transcript_stands_is_said_in_the_new_language_too(
    run: Runner, store: SqlJobStore, pane: ReviewPane
) -> None:
    from ecg_desktop.domain import ErrorCode
    from ecg_desktop.gui.i18n import Translations

    job = Job.new(filename="all-hands.mp4")
    job.fail(ErrorCode.DOWNLOAD_ERROR, "HTTP 403")
    run(store.add(job))
    run(pane.show_job(job))
    assert pane.title.text() == "all-hands.mp4 failed: HTTP 403"
    translations = Translations()
    try:
        translations.apply("ko")
        run.until(lambda: pane.title.text() == "all-hands.mp4 실패: HTTP 403")
    finally:
        translations.apply("en")
    run.until(lambda: pane.title.text() == "all-hands.mp4 failed: HTTP 403")


def test_player_controls(run: Runner, store: SqlJobStore, pane: ReviewPane,
                         qtbot: QtBot, video: Path) -> None:
    job = run(add_completed(store, analyzer_result(6), local_path=str(video)))
    _open(run, pane, job)
    player = pane.player.player
    run.until(lambda: pane.player.loaded)
    pane.player.seek(10.0)
    qtbot.mouseClick(pane.player.forward_button, Qt.MouseButton.LeftButton)
    run.until(lambda: abs(player.position() - 15_000) <= 1)
    qtbot.mouseClick(pane.player.back_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pane.player.back_button, Qt.MouseButton.LeftButton)
    run.until(lambda: abs(player.position() - 5_000) <= 1)
    pane.player.speed.setCurrentIndex(pane.player.speed.findData(2.0))
    assert player.playbackRate() == 2.0
    pane.player.volume.setValue(30)
    assert pane.player.audio.volume() == pytest.approx(0.3)
    qtbot.mouseClick(pane.player.play_button, Qt.MouseButton.LeftButton)
    run.until(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState)
    qtbot.mouseClick(pane.player.play_button, Qt.MouseButton.LeftButton)
    run.until(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PausedState)


def test_plots_follow_the_selection_and_a_click_seeks(run: Runner, store: SqlJobStore,
                                                      pane: ReviewPane, qtbot: QtBot,
                                                      video: Path) -> None:
    job = run(add_completed(store, analyzer_result(60), local_path=str(video)))
    _open(run, pane, job)
    player = pane.player.player
    run.until(lambda: pane.player.loaded)
    late = pane.model.segment(50)
    pane.select_segment(50)
    (left, right), _ = pane.plots.plots["pitch_hz"].viewRange()
    assert left <= late.start and late.end <= right

    pane.plots.show_range(0.0, 20.0)
    plot = pane.plots.plots["pitch_hz"]
    scene_point = plot.vb.mapViewToScene(QPointF(7.5, 150.0))
    widget_point = pane.plots.mapFromScene(scene_point)
    qtbot.mouseClick(pane.plots.viewport(), Qt.MouseButton.LeftButton, pos=widget_point)
    run.until(lambda: abs(player.position() - 7_500) < 150)


def test_rows_rewrap_when_the_pane_narrows(run: Runner, store: SqlJobStore,
                                           pane: ReviewPane) -> None:
    job = run(add_completed(store, analyzer_result(6, words_per_segment=(30, 30))))
    _open(run, pane, job)
    index = pane.proxy.index(0, 0)
    wide = pane.view.visualRect(index).height()
    pane.resize(700, 850)
    run.until(lambda: pane.view.visualRect(index).height() > wide)
    rect = pane.view.visualRect(index)
    last = pane.delegate.word_rect(rect, index, 29)
    assert last.right() <= pane.view.viewport().width()  # every word inside the view


def test_hovering_a_word_marks_it_as_clickable(run: Runner, store: SqlJobStore,
                                               pane: ReviewPane, qtbot: QtBot) -> None:
    job = run(add_completed(store, analyzer_result(6)))
    _open(run, pane, job)
    index = pane.proxy.index(1, 0)
    point = pane.delegate.word_rect(pane.view.visualRect(index), index, 2).center().toPoint()
    qtbot.mouseMove(pane.view.viewport(), point)
    run.until(lambda: pane.delegate.hovered == (1, 2))
    assert pane.view.viewport().cursor().shape() == Qt.CursorShape.PointingHandCursor
    gutter = QPoint(20, pane.view.visualRect(index).center().y())
    qtbot.mouseMove(pane.view.viewport(), gutter)
    run.until(lambda: pane.delegate.hovered is None)


def test_a_segment_without_word_timings_is_shown_and_exported(
    run: Runner, store: SqlJobStore, pane: ReviewPane, qtbot: QtBot
) -> None:
    raw = analyzer_result(3)
    raw["segments"][1]["words"] = []
    raw["segments"][1]["text"] = "서울 에서 만나요 다음 주에"
    job = run(add_completed(store, raw))
    _open(run, pane, job)
    assert pane.model.index(1, Column.TEXT).data() == "서울 에서 만나요 다음 주에"
    assert pane.view.grab().width() > 0
    assert "00:" in pane.delegate.tooltip(1, 0)  # the segment's time, no word features
    pane.player.seek(0.0)
    _click_word(qtbot, pane, 1, 2)  # no video: nothing breaks
    pane.search.field.setText("만나요")
    assert len(pane.model.hits) == 1
    transcript = stored_transcript(run, store, job.job_id)
    subs = pysubs2.SSAFile.from_string(to_srt(transcript, job), format_="srt")
    assert any("만나요" in e.plaintext for e in subs)
    assert "만나요" in to_txt(transcript, job)
