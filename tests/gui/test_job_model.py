"""The queue's model and view: one event changes one row, progress reads as people expect,
filters and sorting work, the column layout is remembered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QSignalSpy
from pytestqt.qtbot import QtBot

from ecg_desktop.domain import (
    ErrorCode,
    Job,
    JobChanged,
    JobDeleted,
    JobStatus,
    Stage,
    UploadProgress,
)
from ecg_desktop.gui.qt_job_model import PROGRESS_ROLE, Column, QtJobModel
from ecg_desktop.gui.qt_queue_view import QtQueueView


def _jobs() -> list[Job]:
    """Four jobs, oldest first (the model shows the newest first)."""
    uploading = Job.new(filename="interview.mp4", size_bytes=120_000_000)
    uploading.stage = Stage.UPLOADING
    analysing = Job.new(filename="meeting.mov", size_bytes=50_000_000)
    analysing.mark_dispatched()
    analysing.report_progress(45, "Transcribing speech")
    done = Job.new(filename="lecture.mkv", size_bytes=800_000_000)
    done.mark_dispatched()
    done.complete(speakers=3)
    failed = Job.new(filename="broken.mp4", size_bytes=1000)
    failed.fail(ErrorCode.AUDIO_EXTRACTION_ERROR, "The video has no audio stream")
    jobs = [uploading, analysing, done, failed]
    for minute, job in enumerate(jobs):
        job.created_at = datetime(2026, 1, 1, 9, minute, tzinfo=UTC)
    return jobs


def _names(model: Any) -> list[str]:
    return [model.index(r, Column.FILE).data() for r in range(model.rowCount())]


def test_a_job_change_updates_only_its_row() -> None:
    model = QtJobModel()
    jobs = _jobs()
    model.set_jobs(jobs)
    changed = QSignalSpy(model.dataChanged)
    reset = QSignalSpy(model.modelReset)

    later = replace(jobs[1])  # events carry snapshots
    later.report_progress(70, "Finding speakers")
    model.apply_event(JobChanged(later))

    row = model.row_of(later.job_id)
    assert row is not None
    cells = [(changed.at(i)[0].row(), changed.at(i)[0].column(), changed.at(i)[1].column())
             for i in range(changed.count())]
    # only the cells that show something new: progress and "updated"
    assert cells == [(row, Column.PROGRESS, Column.PROGRESS), (row, Column.UPDATED, Column.UPDATED)]
    assert reset.count() == 0 and model.rowCount() == 4
    assert model.index(row, Column.PROGRESS).data() == "70% · Finding speakers"


def test_new_and_deleted_jobs_insert_and_remove_rows() -> None:
    model = QtJobModel()
    jobs = _jobs()
    model.set_jobs([jobs[0], jobs[3]])
    assert _names(model) == ["broken.mp4", "interview.mp4"]  # newest first
    model.apply_event(JobChanged(jobs[2]))  # goes where the sort puts it
    assert _names(model) == ["broken.mp4", "lecture.mkv", "interview.mp4"]
    model.apply_event(JobDeleted(jobs[3].job_id))
    assert _names(model) == ["lecture.mkv", "interview.mp4"]
    assert model.row_of(jobs[0].job_id) == 1 and model.job_at(1) is jobs[0]


def test_upload_progress_shows_bytes_speed_and_time_left() -> None:
    model = QtJobModel()
    job = _jobs()[0]
    model.set_jobs([job])
    model.apply_event(UploadProgress(job.job_id, 30_000_000, 120_000_000, 8_300_000, 10.8))

    percent, text = model.index(0, Column.PROGRESS).data(PROGRESS_ROLE)

    assert percent == 25
    assert text == "Uploading 30.0 MB of 120.0 MB · 8.3 MB/s · 0:11 left"
    # once the upload is over, the stale byte counts are dropped
    job.mark_uploaded("videos/x.mp4")
    model.apply_event(JobChanged(job))
    assert model.index(0, Column.PROGRESS).data() == "Uploaded, waiting for the ML server"


def test_status_and_failure_reason_are_shown() -> None:
    model = QtJobModel()
    model.set_jobs(_jobs())
    statuses = [model.index(r, Column.STATUS).data() for r in range(4)]
    assert statuses == ["Failed", "Completed", "Analysing", "Uploading"]
    assert model.index(0, Column.PROGRESS).data() == "The video has no audio stream"
    assert "AUDIO_EXTRACTION_ERROR" in model.index(0, Column.STATUS).data(
        Qt.ItemDataRole.ToolTipRole)
    assert model.index(1, Column.SPEAKERS).data() == "3"


def test_filter_by_status_and_text_and_sort_by_size(qtbot: QtBot) -> None:
    model = QtJobModel()
    model.set_jobs(_jobs())
    view = QtQueueView(model)
    qtbot.addWidget(view)
    proxy = view.proxy

    proxy.set_statuses({JobStatus.FAILED, JobStatus.COMPLETED})
    assert sorted(proxy.index(r, 0).data() for r in range(proxy.rowCount())) == [
        "broken.mp4", "lecture.mkv"]
    proxy.set_statuses(None)
    proxy.set_text("MEET")
    assert [proxy.index(r, 0).data() for r in range(proxy.rowCount())] == ["meeting.mov"]
    proxy.set_text("")

    meeting_row = model.row_of(_job(model, "meeting.mov"))
    assert meeting_row is not None
    view.selectRow(proxy.mapFromSource(model.index(meeting_row, 0)).row())
    view.sortByColumn(Column.SIZE, Qt.SortOrder.AscendingOrder)
    assert [proxy.index(r, 0).data() for r in range(proxy.rowCount())] == [
        "broken.mp4", "meeting.mov", "interview.mp4", "lecture.mkv"]
    assert [j.filename for j in view.selected_jobs()] == ["meeting.mov"]  # selection follows
    view.sortByColumn(Column.FILE, Qt.SortOrder.DescendingOrder)
    assert _names(model)[0] == "meeting.mov"


def _job(model: QtJobModel, name: str) -> Any:
    return next(j.job_id for j in model.jobs() if j.filename == name)


def test_column_layout_survives_a_new_view(qtbot: QtBot, qsettings: QSettings) -> None:
    model = QtJobModel()
    first = QtQueueView(model)
    qtbot.addWidget(first)
    first.setColumnWidth(Column.PROGRESS, 333)  # (the file name takes what is left)
    first.horizontalHeader().moveSection(Column.SPEAKERS, 0)
    first.save_layout(qsettings)

    second = QtQueueView(model)
    qtbot.addWidget(second)
    assert second.restore_layout(qsettings)
    assert second.columnWidth(Column.PROGRESS) == 333
    assert second.horizontalHeader().visualIndex(Column.SPEAKERS) == 0
