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
from collections.abc import Callable, Iterable
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

from ecg_desktop.app.callback_outcomes import NOTE_PREFIX
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
from .i18n import tr

ModelIndex = QModelIndex | QPersistentModelIndex

JOB_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 3  # (percent 0-100, text)
STATUS_ROLE = Qt.ItemDataRole.UserRole + 4  # the JobStatus value


class Column(IntEnum):
    FILE = 0
    STATUS = 1
    PROGRESS = 2
    SIZE = 3
    DURATION = 4
    SPEAKERS = 5
    CREATED = 6
    UPDATED = 7
    OWNER = 8  # who added the job (team mode); the host in the tooltip


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
    Column.OWNER: str(QT_TRANSLATE_NOOP("QtJobModel", "Owner")),
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
DISPLAY = Qt.ItemDataRole.DisplayRole
DECORATION = Qt.ItemDataRole.DecorationRole
ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_RIGHT_ALIGNED = frozenset({Column.SIZE, Column.DURATION, Column.SPEAKERS})


def marked(text: str) -> str:
    """A text marked with ``QT_TRANSLATE_NOOP("QtJobModel", ...)``, translated."""
    return QCoreApplication.translate(_CTX, text)


def status_text(job: Job) -> str:
    """The status column: a terminal status by name, else the stage the job is in."""
    if job.status.is_terminal:
        return marked(TERMINAL_NAMES[job.status])
    return marked(STAGE_NAMES[job.stage])


class QtJobModel(QAbstractTableModel):
    """Rows are jobs in the order of the current sort (newest first by default).

    The model sorts itself (``sort``: one C-level ``list.sort`` over precomputed keys) rather
    than leaving it to a proxy, which would call ``data()`` from C++ for every comparison:
    10,000 rows sort in milliseconds this way. A new job is inserted where the sort puts it;
    a changed job keeps its row until the next sort, so rows do not jump while they progress.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._rows: dict[uuid.UUID, int] = {}
        self._uploads: dict[uuid.UUID, UploadProgress] = {}
        self.sort_column = Column.CREATED
        self.sort_order = Qt.SortOrder.DescendingOrder

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
        # Called for every visible cell on every repaint: plain int comparisons, no enums built.
        if not index.isValid():
            return None
        job = self._jobs[index.row()]
        column = index.column()
        if role == DISPLAY:
            return self._display(job, column)
        if role == PROGRESS_ROLE:
            return self.progress_of(job)
        if role == DECORATION:
            return STATUS_COLORS[job.status] if column == Column.STATUS else None
        if role == ALIGNMENT:
            return RIGHT if column in _RIGHT_ALIGNED else None
        if role == SORT_ROLE:
            return self._sort_key(job, column)
        if role == JOB_ROLE:
            return job
        if role == STATUS_ROLE:
            return job.status.value
        if role == TOOLTIP:
            return self._tooltip(job, column)
        return None

    def _display(self, job: Job, column: int) -> str:
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
            case Column.OWNER:
                return job.owner
        return ""

    def _sort_key(self, job: Job, column: int) -> Any:
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
            case Column.OWNER:
                return job.owner.casefold()
        return 0

    def _tooltip(self, job: Job, column: int) -> str | None:
        if column == Column.FILE:
            return job.local_path or job.file_key or job.filename
        if column in (Column.STATUS, Column.PROGRESS):
            if job.status == JobStatus.FAILED:
                code = job.error_code.value if job.error_code else ""
                text = f"{code}: {job.error_message or ''}".strip(": ")
            else:
                text = job.message
            if job.ml_server:  # which of several ML servers took it
                text += "\n" + tr("ML server: {url}").format(url=job.ml_server)
            return text.strip() or None
        if column == Column.OWNER and job.host:
            return f"{job.owner or '?'} @ {job.host}"
        return None

    def progress_of(self, job: Job) -> tuple[int, str]:
        """(percent, text) for the progress column: bytes, speed and time left while
        uploading, the ML server's stage message while analysing, the error when failed."""
        if job.status == JobStatus.COMPLETED:
            if job.message.startswith(NOTE_PREFIX):  # the analyzer's notes, on the job
                return 100, f"{tr('Completed')} · {job.message}"
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
        self._jobs = self._sorted(jobs)
        self._reindex()
        self._uploads.clear()
        self.endResetModel()

    def append_jobs(self, jobs: Iterable[Job]) -> None:
        """Add jobs not yet shown (a later page of the initial load) at the end; call
        ``sort`` afterwards unless they arrive in the model's order."""
        fresh = [job for job in jobs if job.job_id not in self._rows]
        if not fresh:
            return
        first = len(self._jobs)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        self._jobs.extend(fresh)
        for row, job in enumerate(fresh, start=first):
            self._rows[job.job_id] = row
        self.endInsertRows()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column, self.sort_order = Column(column), order
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()  # the selection, the current row
        held = [self._jobs[index.row()].job_id for index in persistent]
        self._jobs = self._sorted(self._jobs)
        self._reindex()
        moved = [self.index(self._rows[job_id], index.column())
                 for index, job_id in zip(persistent, held, strict=True)]
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _sorted(self, jobs: Iterable[Job]) -> list[Job]:
        column = self.sort_column
        descending = self.sort_order == Qt.SortOrder.DescendingOrder
        return sorted(jobs, key=lambda job: self._sort_key(job, column), reverse=descending)

    def _insert_row(self, job: Job) -> int:
        """Where ``job`` goes in the current sort (a binary search over the rows)."""
        key = self._sort_key(job, self.sort_column)
        descending = self.sort_order == Qt.SortOrder.DescendingOrder
        low, high = 0, len(self._jobs)
        while low < high:
            middle = (low + high) // 2
            other = self._sort_key(self._jobs[middle], self.sort_column)
            if (key > other) if descending else (key < other):
                high = middle
            else:
                low = middle + 1
        return low

    def _reindex(self) -> None:
        self._rows = {job.job_id: row for row, job in enumerate(self._jobs)}

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
            row = self._insert_row(job)
            self.beginInsertRows(QModelIndex(), row, row)
            self._jobs.insert(row, job)
            self._reindex()
            self.endInsertRows()
            return
        before = self._jobs[row]
        self._jobs[row] = job
        if before is job:  # changed in place: nothing to compare with
            self._row_changed(row)
            return
        changed = [c for c in Column if _CELL_VALUES[c](before) != _CELL_VALUES[c](job)]
        # one signal per run of changed columns: the view repaints those cells only
        for first, last in _runs(changed):
            self._row_changed(row, first, last)

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
        self._reindex()
        self.endRemoveRows()

    def _row_changed(self, row: int, first: Column = Column.FILE,
                     last: Column = Column.OWNER) -> None:
        self.dataChanged.emit(self.index(row, first), self.index(row, last))


_CELL_VALUES: dict[Column, Callable[[Job], object]] = {
    Column.FILE: lambda j: j.filename,
    Column.SIZE: lambda j: j.size_bytes,
    Column.DURATION: lambda j: j.duration_s,
    Column.STATUS: lambda j: (j.status, j.stage, j.error_code),
    Column.PROGRESS: lambda j: (j.status, j.stage, j.progress, j.message, j.error_message,
                                j.upload),
    Column.SPEAKERS: lambda j: j.speakers,
    Column.CREATED: lambda j: j.created_at,
    Column.UPDATED: lambda j: j.updated_at,
    Column.OWNER: lambda j: j.owner,
}


def _runs(columns: list[Column]) -> list[tuple[Column, Column]]:
    """[1, 2, 4] -> [(1, 2), (4, 4)]"""
    runs: list[tuple[Column, Column]] = []
    for column in columns:
        if runs and runs[-1][1] + 1 == column:
            runs[-1] = (runs[-1][0], column)
        else:
            runs.append((column, column))
    return runs


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
    """Keeps the rows matching a status group and a text. Sorting is passed on to the
    source model (see ``QtJobModel``), so the proxy keeps the source's order."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._statuses: frozenset[str] | None = None
        self._text = ""
        self._owner: str | None = None  # None: everyone's jobs
        self.setDynamicSortFilter(True)  # a job whose status changes is filtered again

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        model = self.sourceModel()
        if isinstance(model, QtJobModel) and column >= 0:
            model.sort(column, order)

    def set_statuses(self, statuses: Iterable[JobStatus] | None) -> None:
        self._change_filter(
            "_statuses", None if statuses is None else frozenset(s.value for s in statuses))

    def set_text(self, text: str) -> None:
        self._change_filter("_text", text.strip().casefold())

    def set_owner(self, owner: str | None) -> None:
        """Only ``owner``'s jobs ("mine"), or everyone's with ``None``."""
        self._change_filter("_owner", owner)

    def _change_filter(self, attribute: str, value: object) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; invalidateRowsFilter is deprecated
            self.beginFilterChange()
            setattr(self, attribute, value)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            setattr(self, attribute, value)
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        if self._statuses is None and not self._text and self._owner is None:
            return True
        model = self.sourceModel()
        assert isinstance(model, QtJobModel)
        job = model.job_at(source_row)
        if self._statuses is not None and job.status.value not in self._statuses:
            return False
        if self._owner is not None and job.owner != self._owner:
            return False
        if self._text:
            haystack = f"{job.filename} {job.file_key or ''} {job.job_id}".casefold()
            return self._text in haystack
        return True
