"""The queue beside the transcript at 1600 px: every column shows whole (the file name takes
what the others leave), and hidden columns come back from the header's menu."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from ecg_desktop.app.bus import EventBus
from ecg_desktop.config import Settings
from ecg_desktop.domain import Job
from ecg_desktop.gui.qt_job_model import Column
from ecg_desktop.gui.qt_main_window import QtMainWindow
from ecg_desktop.gui.review import ReviewPane
from ecg_desktop.store import open_store
from tests.gui.conftest import Runner


def test_every_column_shows_at_1600_px_beside_the_transcript(
    run: Runner, qtbot: QtBot, qsettings: QSettings, tmp_path: Path,
) -> None:
    store = run(open_store(f"sqlite:///{tmp_path / 'jobs.db'}"))
    try:
        window = QtMainWindow(Settings(), qsettings=qsettings)
        qtbot.addWidget(window)
        window.resize(1600, 1000)
        window.show()
        qtbot.waitExposed(window)
        window.attach_review_pane(ReviewPane(SimpleNamespace(store=store, bus=EventBus())))
        window.model.set_jobs([Job.new(filename=f"quarterly review {i}.mp4", size_bytes=10**8,
                                       duration_s=125.0) for i in range(3)])
        qtbot.wait(50)
        queue = window.queue
        header = queue.horizontalHeader()
        shown = [c for c in Column if not queue.isColumnHidden(c)]
        assert Column.PROGRESS in shown and Column.CREATED in shown
        right_edge = max(header.sectionViewportPosition(c) + header.sectionSize(c) for c in shown)
        assert right_edge <= queue.viewport().width(), "a column is cut off"
        assert queue.horizontalScrollBar().maximum() == 0
        assert header.sectionSize(Column.FILE) >= 140

        menu = queue.column_menu()
        updated = next(a for a in menu.actions() if a.text() == "Updated")
        assert not updated.isChecked()
        updated.trigger()
        assert not queue.isColumnHidden(Column.UPDATED)
        window.save_state()
        again = QtMainWindow(Settings(), qsettings=qsettings)
        qtbot.addWidget(again)
        assert not again.queue.isColumnHidden(Column.UPDATED)  # remembered
    finally:
        run(store.close())
