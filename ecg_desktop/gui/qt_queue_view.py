"""``QtQueueView``: the job table (a ``QTableView`` over ``JobFilterProxy``) with uniform
rows, the progress delegate, a context menu, and its header state kept in ``QSettings``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView

from ecg_desktop.domain import Job

from .qt_job_model import JOB_ROLE, Column, JobFilterProxy, QtJobModel
from .qt_progress_delegate import QtProgressDelegate

HEADER_KEY = "queue/header2"  # 2: the file name stretches (older layouts cut columns off)
# The file name takes the width the others leave, so every column shows beside the transcript
# at 1600 px (the transcript pane needs about 880); "Size", "Updated" and "Owner" are one
# right click on the header away.
_DEFAULT_WIDTHS = {
    Column.STATUS: 100, Column.PROGRESS: 200, Column.SIZE: 75, Column.DURATION: 70,
    Column.SPEAKERS: 75, Column.CREATED: 115, Column.UPDATED: 115, Column.OWNER: 90,
}
HIDDEN_BY_DEFAULT = (Column.SIZE, Column.UPDATED, Column.OWNER)


class QtQueueView(QTableView):
    """Shows the queue; ``activated_job`` fires on Enter or a double click."""

    activated_job = Signal(object)

    def __init__(self, model: QtJobModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.job_model = model
        self.proxy = JobFilterProxy(self)
        self.proxy.setSourceModel(model)
        self.setModel(self.proxy)
        self.setObjectName("queue")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 12)
        header = self.horizontalHeader()
        header.setSectionsMovable(True)
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        header.setMinimumSectionSize(40)
        for column, width in _DEFAULT_WIDTHS.items():
            self.setColumnWidth(column, width)
        header.setSectionResizeMode(Column.FILE, QHeaderView.ResizeMode.Stretch)
        for column in HIDDEN_BY_DEFAULT:
            self.setColumnHidden(column, True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(
            lambda point: self.column_menu().exec(header.mapToGlobal(point)))
        self.setItemDelegateForColumn(Column.PROGRESS, QtProgressDelegate(self))
        self.sortByColumn(Column.CREATED, Qt.SortOrder.DescendingOrder)
        self.context_actions: list[QAction | None] = []
        self.activated.connect(self._on_activated)

    # -- selection -------------------------------------------------------------------------

    def selected_jobs(self) -> list[Job]:
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        return [index.data(JOB_ROLE) for index in rows]

    def current_job(self) -> Job | None:
        jobs = self.selected_jobs()
        if jobs:
            return jobs[0]
        index = self.currentIndex()
        return index.data(JOB_ROLE) if index.isValid() else None

    def select_job(self, job_id: uuid.UUID) -> bool:
        """Select and show ``job_id``; False when it is not in the table or filtered out."""
        row = self.job_model.row_of(job_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.job_model.index(row, 0))
        if not index.isValid():
            return False
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        self.selectionModel().setCurrentIndex(index, flags)
        self.scrollTo(index)
        return True

    def _on_activated(self, index: QModelIndex) -> None:
        job = index.data(JOB_ROLE)
        if job is not None:
            self.activated_job.emit(job)

    # -- context menu ----------------------------------------------------------------------

    def set_context_actions(self, actions: Sequence[QAction | None]) -> None:
        """The menu's entries; ``None`` is a separator."""
        self.context_actions = list(actions)

    def build_context_menu(self) -> QMenu:
        menu = QMenu(self)
        for action in self.context_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos())
        if index.isValid() and not self.selectionModel().isRowSelected(index.row()):
            self.selectRow(index.row())
        self.build_context_menu().exec(event.globalPos())

    def column_menu(self) -> QMenu:
        """Right click on the header: show or hide each column but the file name."""
        menu = QMenu(self)
        model = self.model()
        for column in Column:
            if column is Column.FILE:
                continue
            title = str(model.headerData(column, Qt.Orientation.Horizontal))
            action = menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(column))
            action.toggled.connect(lambda shown, c=column: self.setColumnHidden(c, not shown))
        return menu

    # -- remembered layout -----------------------------------------------------------------

    def save_layout(self, settings: QSettings) -> None:
        settings.setValue(HEADER_KEY, self.horizontalHeader().saveState())

    def restore_layout(self, settings: QSettings) -> bool:
        state = settings.value(HEADER_KEY)
        if isinstance(state, QByteArray | bytes) and state:
            return self.horizontalHeader().restoreState(QByteArray(state))
        return False
