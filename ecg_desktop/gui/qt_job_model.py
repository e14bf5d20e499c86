"""``QtJobModel``: a Qt table model adapting an in-memory list of jobs (Qt model/view:
https://doc.qt.io/qt-6/model-view-programming.html).

The model holds the jobs and their latest upload progress; display text is computed in
``data()``, never stored. It changes only through ``apply_event`` (the pipeline's events) and
``set_jobs`` (the initial load): one changed job is one ``dataChanged`` for its row, so the
table never re-reads the store to show a change. ``JobFilterProxy`` sorts on raw values
(``SORT_ROLE``, compared natively by Qt) and filters by status group and text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor

from ecg_desktop.domain import (
    Event,
    Job,
    JobChanged,
    JobDeleted,
    JobStatus,
    Stage,
    UploadProgress,
)

from .formatting import human_duration, human_size, human_speed, local_time

ModelIndex = QModelIndex | QPersistentModelIndex

JOB_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 3  # (percent 0-100, text)
STATUS_ROLE = Qt.ItemDataRole.UserRole + 4  # the JobStatus value


class Column(IntEnum):
    FILE = 0
    SIZE = 1
    DURATION = 2
    STATUS = 3
    PROGRESS = 4
    SPEAKERS = 5
    CREATED = 6
    UPDATED = 7


_CTX = "QtJobModel"
HEADERS = {
    Column.FILE: str(QT_TRANSLATE_NOOP("QtJobModel", "File")),
    Column.SIZE: str(QT_TRANSLATE_NOOP("QtJobModel", "Size")),
    Column.DURATION: str(QT_TRANSLATE_NOOP("QtJobModel", "Duration")),
    Column.STATUS: str(QT_TRANSLATE_NOOP("QtJobModel", "Status")),
    Column.PROGRESS: str(QT_TRANSLATE_NOOP("QtJobModel", "Progress")),
    Column.SPEAKERS: str(QT_TRANSLATE_NOOP("QtJobModel", "Speakers")),
    Column.CREATED: str(QT_TRANSLATE_NOOP("QtJobModel", "Created")),
    Column.UPDATED: str(QT_TRANSLATE_NOOP("QtJobModel", "Updated")),
}
STAGE_NAMES = {
    Stage.QUEUED: str(QT_TRANSLATE_NOOP("QtJobModel", "Queued")),
    Stage.UPLOADING: str(QT_TRANSLATE_NOOP("QtJobModel", "Uploading")),
    Stage.UPLOADED: str(QT_TRANSLATE_NOOP("QtJobModel", "Uploaded")),
    Stage.DISPATCHING: str(QT_TRANSLATE_NOOP("QtJobModel", "Sending to ML server")),
    Stage.ANALYZING: str(QT_TRANSLATE_NOOP("QtJobModel", "Analysing")),
    Stage.DONE: str(QT_TRANSLATE_NOOP("QtJobModel", "Done")),
}
TERMINAL_NAMES = {
    JobStatus.COMPLETED: str(QT_TRANSLATE_NOOP("QtJobModel", "Completed")),
    JobStatus.FAILED: str(QT_TRANSLATE_NOOP("QtJobModel", "Failed")),
    JobStatus.CANCELED: str(QT_TRANSLATE_NOOP("QtJobModel", "Canceled")),
}
STATUS_COLORS = {
    JobStatus.PENDING: QColor("#8a8f98"),
    JobStatus.PROCESSING: QColor("#2f7fd8"),
    JobStatus.COMPLETED: QColor("#2e9d4f"),
    JobStatus.FAILED: QColor("#d64541"),
    JobStatus.CANCELED: QColor("#b08a2e"),
}
_STATUS_ORDER = {s: i for i, s in enumerate(JobStatus)}


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)  # pyside6-lupdate files module-level tr() under ""


def marked(text: str) -> str:
    """A text marked with ``QT_TRANSLATE_NOOP("QtJobModel", ...)``, translated."""
    return QCoreApplication.translate(_CTX, text)


def status_text(job: Job) -> str:
    """The status column: a terminal status by name, else the stage the job is in."""
    if job.status.is_terminal:
        return marked(TERMINAL_NAMES[job.status])
    return marked(STAGE_NAMES[job.stage])


class QtJobModel(QAbstractTableModel):
    """Rows are jobs, newest last in load order; the proxy decides what is shown where."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._rows: dict[uuid.UUID, int] = {}
        self._uploads: dict[uuid.UUID, UploadProgress] = {}

    # -- reading ---------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._jobs)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return marked(HEADERS[Column(section)])
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        job = self._jobs[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(job, column)
        if role == SORT_ROLE:
            return self._sort_key(job, column)
        if role == PROGRESS_ROLE:
            return self.progress_of(job)
        if role == JOB_ROLE:
            return job
        if role == STATUS_ROLE:
            return job.status.value
        if role == Qt.ItemDataRole.DecorationRole and column == Column.STATUS:
            return STATUS_COLORS[job.status]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(job, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (
            Column.SIZE, Column.DURATION, Column.SPEAKERS
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, job: Job, column: Column) -> str:
        match column:
            case Column.FILE:
                return job.filename
            case Column.SIZE:
                return human_size(job.size_bytes)
            case Column.DURATION:
                return human_duration(job.duration_s)
            case Column.STATUS:
                return status_text(job)
            case Column.PROGRESS:
                return self.progress_of(job)[1]
            case Column.SPEAKERS:
                return "" if job.speakers is None else str(job.speakers)
            case Column.CREATED:
                return local_time(job.created_at)
            case Column.UPDATED:
                return local_time(job.updated_at)

    def _sort_key(self, job: Job, column: Column) -> Any:
        match column:
            case Column.FILE:
                return job.filename.casefold()
            case Column.SIZE:
                return job.size_bytes if job.size_bytes is not None else -1
            case Column.DURATION:
                return job.duration_s if job.duration_s is not None else -1.0
            case Column.STATUS:
                return _STATUS_ORDER[job.status] * 10 + list(Stage).index(job.stage)
            case Column.PROGRESS:
                return self.progress_of(job)[0]
            case Column.SPEAKERS:
                return job.speakers if job.speakers is not None else -1
            case Column.CREATED:
                return job.created_at.timestamp()
            case Column.UPDATED:
                return job.updated_at.timestamp()

    def _tooltip(self, job: Job, column: Column) -> str | None:
        if column == Column.FILE:
            return job.local_path or job.file_key or job.filename
        if column in (Column.STATUS, Column.PROGRESS) and job.status == JobStatus.FAILED:
            code = job.error_code.value if job.error_code else ""
            return f"{code}: {job.error_message or ''}".strip(": ")
        if column in (Column.STATUS, Column.PROGRESS):
            return job.message or None
        return None

    def progress_of(self, job: Job) -> tuple[int, str]:
        """(percent, text) for the progress column: bytes, speed and time left while
        uploading, the ML server's stage message while analysing, the error when failed."""
        if job.status == JobStatus.COMPLETED:
            return 100, tr("Completed")
        if job.status == JobStatus.FAILED:
            return job.progress, job.error_message or tr("Failed")
        if job.status == JobStatus.CANCELED:
            return job.progress, tr("Canceled")
        if job.stage == Stage.UPLOADING:
            return self._upload_progress(job)
        if job.stage == Stage.ANALYZING:
            text = f"{job.progress}%"
            return job.progress, f"{text} · {job.message}" if job.message else text
        if job.stage == Stage.DISPATCHING:
            return job.progress, tr("Sending to ML server…")
        if job.stage == Stage.UPLOADED:
            return job.progress, tr("Uploaded, waiting for the ML server")
        return 0, tr("Waiting")

    def _upload_progress(self, job: Job) -> tuple[int, str]:
        live = self._uploads.get(job.job_id)
        if live is not None:
            done, total = live.bytes_done, live.bytes_total
        else:
            total = job.size_bytes or (job.upload.file_size if job.upload else 0)
            done = job.upload.bytes_done if job.upload else 0
        percent = int(done * 100 / total) if total else 0
        text = tr("Uploading {done} of {total}").format(
            done=human_size(done), total=human_size(total)
        )
        if live is not None and live.speed_bps > 0:
            text += f" · {human_speed(live.speed_bps)}"
            if live.eta_s is not None:
                text += " · " + tr("{eta} left").format(eta=human_duration(live.eta_s))
        return percent, text

    # -- lookups ---------------------------------------------------------------------------

    def job_at(self, row: int) -> Job:
        return self._jobs[row]

    def row_of(self, job_id: uuid.UUID) -> int | None:
        return self._rows.get(job_id)

    def job(self, job_id: uuid.UUID) -> Job | None:
        row = self._rows.get(job_id)
        return None if row is None else self._jobs[row]

    def jobs(self) -> list[Job]:
        return list(self._jobs)

    def queued_paths(self) -> list[str | None]:
        """Local paths of the jobs that still hold their video (not failed or canceled)."""
        return [
            j.local_path for j in self._jobs
            if j.status not in (JobStatus.FAILED, JobStatus.CANCELED)
        ]

    # -- changing --------------------------------------------------------------------------

    def set_jobs(self, jobs: Iterable[Job]) -> None:
        self.beginResetModel()
        self._jobs = list(jobs)
        self._rows = {job.job_id: row for row, job in enumerate(self._jobs)}
        self._uploads.clear()
        self.endResetModel()

    def apply_event(self, event: Event) -> None:
        if isinstance(event, JobChanged):
            self.upsert(event.job)
        elif isinstance(event, UploadProgress):
            self.set_upload_progress(event)
        elif isinstance(event, JobDeleted):
            self.remove(event.job_id)

    def upsert(self, job: Job) -> None:
        if job.stage != Stage.UPLOADING or job.status.is_terminal:
            self._uploads.pop(job.job_id, None)
        row = self._rows.get(job.job_id)
        if row is None:
            row = len(self._jobs)
            self.beginInsertRows(QModelIndex(), row, row)
            self._jobs.append(job)
            self._rows[job.job_id] = row
            self.endInsertRows()
            return
        self._jobs[row] = job
        self._row_changed(row)

    def set_upload_progress(self, progress: UploadProgress) -> None:
        row = self._rows.get(progress.job_id)
        if row is None:
            return
        self._uploads[progress.job_id] = progress
        self._row_changed(row, Column.PROGRESS, Column.PROGRESS)

    def remove(self, job_id: uuid.UUID) -> None:
        row = self._rows.get(job_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._jobs[row]
        self._uploads.pop(job_id, None)
        self._rows = {job.job_id: r for r, job in enumerate(self._jobs)}
        self.endRemoveRows()

    def _row_changed(self, row: int, first: Column = Column.FILE,
                     last: Column = Column.UPDATED) -> None:
        self.dataChanged.emit(self.index(row, first), self.index(row, last))


STATUS_GROUPS: dict[str, frozenset[JobStatus] | None] = {
    str(QT_TRANSLATE_NOOP("QtJobModel", "All")): None,
    str(QT_TRANSLATE_NOOP("QtJobModel", "Active")): frozenset(
        {JobStatus.PENDING, JobStatus.PROCESSING}
    ),
    str(QT_TRANSLATE_NOOP("QtJobModel", "Completed")): frozenset({JobStatus.COMPLETED}),
    str(QT_TRANSLATE_NOOP("QtJobModel", "Failed")): frozenset({JobStatus.FAILED}),
    str(QT_TRANSLATE_NOOP("QtJobModel", "Canceled")): frozenset({JobStatus.CANCELED}),
}


class JobFilterProxy(QSortFilterProxyModel):
    """Sorts on ``SORT_ROLE`` and keeps the rows matching a status group and a text."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._statuses: frozenset[str] | None = None
        self._text = ""
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_statuses(self, statuses: Iterable[JobStatus] | None) -> None:
        self._change_filter(
            "_statuses", None if statuses is None else frozenset(s.value for s in statuses))

    def set_text(self, text: str) -> None:
        self._change_filter("_text", text.strip().casefold())

    def _change_filter(self, attribute: str, value: object) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; invalidateRowsFilter is deprecated
            self.beginFilterChange()
            setattr(self, attribute, value)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            setattr(self, attribute, value)
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        if self._statuses is None and not self._text:
            return True
        model = self.sourceModel()
        assert isinstance(model, QtJobModel)
        job = model.job_at(source_row)
        if self._statuses is not None and job.status.value not in self._statuses:
            return False
        if self._text:
            haystack = f"{job.filename} {job.file_key or ''} {job.job_id}".casefold()
            return self._text in haystack
        return True
