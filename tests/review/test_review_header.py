"""The pane's layout (issue 13 item 5): the title keeps the file name, the splitters stay
where they are when playback starts, counts read "1 speaker" / "2 speakers" (Korean too),
and the search count is never cut."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QListView, QSplitter
from pytestqt.qtbot import QtBot

from ecg_desktop.domain import Job
from ecg_desktop.gui.i18n import Translations
from ecg_desktop.gui.review import ReviewPane
from ecg_desktop.gui.review.palette import Colouring
from ecg_desktop.store import SqlJobStore
from tests.media import make_silent_video

from .conftest import Runner, add_completed, shown_pane
from .factory import analyzer_result

LONG_NAME = "interview_with_the_mayor_of_busan_2024-05-02.mp4"


@pytest.fixture
def translations() -> Iterator[Translations]:
    installed = Translations()
    yield installed
    installed.apply("en")


def _open(run: Runner, pane: ReviewPane, job: Job) -> None:
    run(pane.show_job(job))
    run.until(lambda: pane.view.indexAt(QPoint(200, 10)).isValid())


def test_counts_use_plural_forms_in_english_and_korean(
    run: Runner, store: SqlJobStore, qtbot: QtBot, core: SimpleNamespace,
    translations: Translations,
) -> None:
    pane = shown_pane(qtbot, core, 1300, 850)
    one = run(add_completed(store, analyzer_result(1, speakers=1)))
    _open(run, pane, one)
    assert "1 speaker  ·  1 segment" in pane.title.text()
    two = run(add_completed(store, analyzer_result(7, speakers=2)))
    _open(run, pane, two)
    assert "2 speakers  ·  7 segments" in pane.title.text()
    translations.apply("ko")
    run.until(lambda: "화자 2명" in pane.title.text())
    assert "구간 7개" in pane.title.text()


def test_the_title_keeps_the_file_name_beside_the_legend_and_undo(
    run: Runner, store: SqlJobStore, qtbot: QtBot, core: SimpleNamespace,
) -> None:
    pane = shown_pane(qtbot, core, 1000, 800)
    job = run(add_completed(store, analyzer_result(8), filename=LONG_NAME))
    _open(run, pane, job)
    pane.set_colouring(Colouring.LOUDNESS)
    segment = pane.model.segment(2)
    pane.edits.edit_segment_text(2, segment.text + " and a rather long correction at the end")
    run(pane.wait_idle())
    qtbot.wait(50)  # the header lays out again
    assert pane.legend.isVisible() and pane.undo_button.isEnabled()
    assert pane.title.shown_text().startswith(LONG_NAME)
    assert pane.title.text().startswith(LONG_NAME)
    longer = run(add_completed(store, analyzer_result(8), filename=LONG_NAME * 4))
    _open(run, pane, longer)
    qtbot.wait(50)
    shown = pane.title.shown_text()
    # too long for the whole name: its start and its extension stay
    assert shown.startswith(LONG_NAME[:6]) and shown.endswith(".mp4") and "…" in shown
    assert pane.title.toolTip() == pane.title.text()


def test_the_splitters_stay_put_when_playback_starts(
    run: Runner, store: SqlJobStore, qtbot: QtBot, core: SimpleNamespace, tmp_path: Path,
) -> None:
    video = make_silent_video(tmp_path / "talk.mp4", 8.0, width=640, height=480)
    window = QSplitter()  # the pane beside the queue, as in the main window
    qtbot.addWidget(window)
    window.addWidget(QListView())
    pane = ReviewPane(core)
    window.addWidget(pane)
    window.resize(1500, 900)
    window.show()
    qtbot.waitExposed(window)
    window.setSizes([700, 800])
    job = run(add_completed(store, analyzer_result(6), local_path=str(video)))
    _open(run, pane, job)
    run.until(lambda: pane.player.loaded)
    qtbot.wait(200)
    splitters = [window, *pane.findChildren(QSplitter)]
    before = [s.sizes() for s in splitters]
    pane.player.player.play()
    run.until(lambda: pane.player.player.playbackState()
              == QMediaPlayer.PlaybackState.PlayingState)
    run.until(lambda: pane.player.position > 1.0)
    qtbot.wait(100)
    pane.player.player.pause()
    assert [s.sizes() for s in splitters] == before


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_search_count_is_never_cut(
    run: Runner, store: SqlJobStore, qtbot: QtBot, core: SimpleNamespace, language: str,
    translations: Translations,
) -> None:
    translations.apply(language)
    pane = shown_pane(qtbot, core, 560, 700)
    job = run(add_completed(store, analyzer_result(30)))
    _open(run, pane, job)
    count = pane.search.count
    for query in ("zzzz", "the", "e"):
        pane.search.field.setText(query)
        qtbot.wait(20)
        assert count.text()
        assert count.width() >= count.fontMetrics().horizontalAdvance(count.text())
