"""The speaker list: speaking time, share and mean pitch per speaker, with a check box per
speaker that filters the pane, renaming in place and merging.

``SpeakerTableModel`` adapts ``Transcript.speaker_stats()``; editing a name does not change
the model: it emits ``renameRequested`` and the pane runs the use case, then refreshes.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ecg_desktop.domain import SpeakerStats, Transcript

from .palette import speaker_colour
from .timeline import format_time

AnyIndex = QModelIndex | QPersistentModelIndex


class SpeakerColumn(IntEnum):
    NAME = 0
    TIME = 1
    SHARE = 2
    PITCH = 3


def _swatch(colour: QColor) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(colour)
    return QIcon(pixmap)


class SpeakerTableModel(QAbstractTableModel):
    renameRequested = Signal(str, str)  # speaker id, new name
    visibilityChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stats: list[SpeakerStats] = []
        self.total = 0.0
        self.hidden: set[str] = set()
        self.measured = True

    def set_transcript(self, transcript: Transcript) -> None:
        self.beginResetModel()
        self.stats = transcript.speaker_stats()
        self.total = sum(s.speaking_time for s in self.stats)
        self.measured = transcript.features_measured
        self.hidden &= {s.speaker_id for s in self.stats}
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.stats)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(SpeakerColumn)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return (self.tr("Speaker"), self.tr("Time"), self.tr("Share"),
                    self.tr("Mean pitch"))[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == SpeakerColumn.NAME:
            flags |= Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        stats = self.stats[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if column == SpeakerColumn.NAME:
                return stats.name
            if column == SpeakerColumn.TIME:
                return format_time(stats.speaking_time)
            if column == SpeakerColumn.SHARE:
                share = stats.speaking_time / self.total if self.total else 0.0
                return f"{share:.0%}"
            if stats.mean_pitch_hz is None:
                return self.tr("not measured") if not self.measured else "–"
            return f"{stats.mean_pitch_hz:.0f} Hz"
        if role == Qt.ItemDataRole.DecorationRole and column == SpeakerColumn.NAME:
            return _swatch(speaker_colour(stats.speaker_id))
        if role == Qt.ItemDataRole.CheckStateRole and column == SpeakerColumn.NAME:
            hidden = stats.speaker_id in self.hidden
            return Qt.CheckState.Unchecked if hidden else Qt.CheckState.Checked
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tr("%s: %d segments, %d words") % (
                stats.speaker_id, stats.segment_count, stats.word_count)
        if role == Qt.ItemDataRole.UserRole:
            return stats.speaker_id
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != SpeakerColumn.NAME:
            return False
        speaker_id = self.stats[index.row()].speaker_id
        if role == Qt.ItemDataRole.CheckStateRole:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            (self.hidden.discard if checked else self.hidden.add)(speaker_id)
            self.dataChanged.emit(index, index, [role])
            self.visibilityChanged.emit()
            return True
        if role == Qt.ItemDataRole.EditRole:
            name = " ".join(str(value).split())
            if name and name != self.stats[index.row()].name:
                self.renameRequested.emit(speaker_id, name)
        return False  # the name changes once the use case has stored it

    def speaker_ids(self) -> list[str]:
        return [s.speaker_id for s in self.stats]


class SpeakerPanel(QWidget):
    """The speaker table with "Rename" and "Merge into" buttons."""

    mergeRequested = Signal(str, str)  # source id, target id

    def __init__(self, model: SpeakerTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.table = QTableView(self)
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SpeakerColumn.NAME, QHeaderView.ResizeMode.Stretch)
        self.rename_button = QPushButton(self)
        self.merge_button = QPushButton(self)
        self.rename_button.clicked.connect(self._rename)
        self.merge_button.clicked.connect(self._merge_menu)
        buttons = QHBoxLayout()
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.merge_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.rename_button.setText(self.tr("Rename…"))
        self.merge_button.setText(self.tr("Merge into…"))
        self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(SpeakerColumn) - 1)
        if self.model.rowCount():
            self.model.dataChanged.emit(self.model.index(0, 0),
                                        self.model.index(self.model.rowCount() - 1,
                                                         len(SpeakerColumn) - 1))

    def selected_speaker(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.stats[rows[0].row()].speaker_id if rows else None

    def _rename(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.table.edit(self.model.index(rows[0].row(), SpeakerColumn.NAME))

    def _merge_menu(self) -> None:
        source = self.selected_speaker()
        if source is None:
            return
        menu = QMenu(self)
        for stats in self.model.stats:
            if stats.speaker_id != source:
                action = menu.addAction(_swatch(speaker_colour(stats.speaker_id)), stats.name)
                target = stats.speaker_id
                action.triggered.connect(
                    lambda _=False, t=target: self.mergeRequested.emit(source, t)
                )
        menu.exec(self.merge_button.mapToGlobal(self.merge_button.rect().bottomLeft()))
