"""Settings -> Speech recognition: the Whisper models, their downloads, the one new jobs use.

``model_rows`` is the pure state (catalog x installed x downloads in progress); ``QtModelsTable``
adapts it for a ``QTableView`` (model/view, no widget per row), whose status column is drawn
as a progress bar by the job list's ``QtProgressDelegate`` while a model downloads.
``QtModelsPage`` holds the view, the Download/Cancel/Remove buttons and the ``choice`` combo
that the settings dialog treats as the ``whisper_model`` setting (saved with OK/Apply).

A download runs ``whisper_download.download_model`` on a daemon thread (a quit mid-download must
not wait for gigabytes; the partial download is never used) and reports to the asyncio loop
(qasync's, in the app) with ``call_soon_threadsafe``, so the window never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ecg_desktop.analyzer import whisper_models as wm
from ecg_desktop.analyzer.whisper_download import download_model

from .i18n import tr
from .qt_job_model import PROGRESS_ROLE
from .qt_progress_delegate import QtProgressDelegate

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex
NAME_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class ModelRow:
    info: wm.WhisperModelInfo
    installed: wm.InstalledModel | None
    progress: tuple[int, int] | None = None  # bytes done, total: downloading
    error: str = ""  # the last download's failure
    kept: int = 0  # bytes of a stopped download, which the next one goes on from

    @property
    def downloading(self) -> bool:
        return self.progress is not None


def model_rows(
    installed: list[wm.InstalledModel],
    progress: Mapping[str, tuple[int, int]],
    errors: Mapping[str, str],
    kept: Mapping[str, int],
) -> list[ModelRow]:
    found = {m.info.name: m for m in installed}
    return [
        ModelRow(info, found.get(info.name), progress.get(info.name),
                 errors.get(info.name, ""), kept.get(info.name, 0))
        for info in wm.CATALOG.values()
    ]


def status_text(row: ModelRow) -> str:
    if row.progress is not None:
        done, total = row.progress
        if done >= total:  # every byte is in; the files are being checked
            return tr("Checking the download…")
        return tr("Downloading {done:.0f} of {total:.0f} MB").format(
            done=done / 1e6, total=total / 1e6)
    if row.installed is not None:
        return tr("Bundled") if row.installed.bundled else tr("Installed")
    if row.error:
        return tr("Failed: {error}").format(error=row.error)
    if row.kept:
        return tr("Stopped at {done:.0f} MB: Download goes on from there").format(
            done=row.kept / 1e6)
    return tr("Not installed")


def _mark_texts() -> None:  # pragma: no cover - only read by pyside6-lupdate
    tr("Model")
    tr("Size")
    tr("Languages")
    tr("Status")


class QtModelsTable(QAbstractTableModel):
    """Adapts ``model_rows`` for a view; the text is computed, never stored."""

    HEADERS = ("Model", "Size", "Languages", "Status")
    STATUS = 3

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[ModelRow] = []
        self.chosen = ""

    def set_rows(self, rows: list[ModelRow]) -> None:
        if [r.info.name for r in rows] != [r.info.name for r in self.rows]:
            self.beginResetModel()
            self.rows = rows
            self.endResetModel()
            return
        self.rows = rows
        self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, self.STATUS))

    def set_chosen(self, name: str) -> None:
        self.chosen = name
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, 0))

    def row_of(self, name: str) -> int:
        return next((i for i, r in enumerate(self.rows) if r.info.name == name), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self.HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == NAME_ROLE:
            return row.info.name
        if role == PROGRESS_ROLE and column == self.STATUS and row.progress is not None:
            done, total = row.progress
            return (100 * done / total if total else 0, status_text(row))
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.error or row.info.repo_id
        if role == Qt.ItemDataRole.FontRole and column == 0 and row.info.name == self.chosen:
            from PySide6.QtGui import QFont

            font = QFont()
            font.setBold(True)
            return font
        return None

    def _text(self, row: ModelRow, column: int) -> str:
        info = row.info
        if column == 0:
            mark = "  " + tr("(new jobs)") if info.name == self.chosen else ""
            return info.name + mark
        if column == 1:
            return tr("{size} MB").format(size=info.size_mb)
        if column == 2:
            return tr("99 languages") if info.multilingual else tr("English")
        return status_text(row)


class QtModelsPage(QWidget):
    """The Speech recognition page; ``choice`` is the ``whisper_model`` setting's editor."""

    models_changed = Signal()  # a model was installed or removed

    def __init__(self, models_dir: Path, parent: QWidget | None = None, *,
                 endpoint: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPage")
        self.models_dir = models_dir
        self.endpoint = endpoint  # the hub; None: $HF_ENDPOINT or huggingface.co
        self._progress: dict[str, tuple[int, int]] = {}
        self._errors: dict[str, str] = {}
        self._cancels: dict[str, threading.Event] = {}
        self.tasks: dict[str, asyncio.Future[bool]] = {}

        self.table = QtModelsTable(self)
        self.view = QTableView(self)
        self.view.setObjectName("modelsView")
        self.view.setModel(self.table)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.setShowGrid(False)
        self.view.setItemDelegateForColumn(QtModelsTable.STATUS, QtProgressDelegate(self.view))
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(QtModelsTable.STATUS, QHeaderView.ResizeMode.Stretch)

        self.download_button = QPushButton(tr("&Download"), self)
        self.download_button.setObjectName("downloadModelButton")
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button = QPushButton(tr("&Cancel download"), self)
        self.cancel_button.setObjectName("cancelDownloadButton")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.remove_button = QPushButton(tr("&Remove"), self)
        self.remove_button.setObjectName("removeModelButton")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        for button in (self.download_button, self.cancel_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.choice = QComboBox(self)
        self.choice.setObjectName("whisper_model")
        self.choice.currentIndexChanged.connect(self._show_choice)
        self.message = QLabel(self)
        self.message.setObjectName("modelsMessage")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow(tr("New jobs &use:"), self.choice)
        note = QLabel(tr(
            "English (.en) models recognise English only; the others detect the language and "
            "recognise 99. Bigger models are more accurate and slower. Models are downloaded "
            "from Hugging Face into {folder}; a change of model restarts the analyzer."
        ).format(folder=models_dir), self)
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(placeholder-text);")

        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(note)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.refresh()

    # -- state -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read what is installed; keep the chosen model and the selection."""
        installed = wm.installed_models(self.models_dir)
        self.table.set_rows(model_rows(
            installed, self._progress, self._errors, wm.partial_downloads(self.models_dir)))
        chosen = self.choice.currentData() or wm.DEFAULT_MODEL
        self.choice.blockSignals(True)
        self.choice.clear()
        for model in installed:
            self.choice.addItem(model.info.name, model.info.name)
        self.choice.blockSignals(False)
        self.set_chosen(chosen)
        self._update_buttons()

    def set_chosen(self, name: str) -> None:
        index = self.choice.findData(name)
        if index < 0:
            self.choice.addItem(tr("{name} (not installed)").format(name=name), name)
            index = self.choice.count() - 1
        self.choice.setCurrentIndex(index)
        self._show_choice()

    def _show_choice(self) -> None:
        self.table.set_chosen(self.choice.currentData() or "")

    def selected_name(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return str(rows[0].data(NAME_ROLE)) if rows else None

    def select(self, name: str) -> None:
        row = self.table.row_of(name)
        self.view.selectionModel().select(
            self.table.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )

    def _update_buttons(self) -> None:
        name = self.selected_name()
        row = self.table.rows[self.table.row_of(name)] if name else None
        self.download_button.setEnabled(
            row is not None and row.installed is None and not row.downloading)
        self.cancel_button.setEnabled(row is not None and row.downloading)
        self.remove_button.setEnabled(
            row is not None and row.installed is not None and not row.installed.bundled)

    # -- actions ---------------------------------------------------------------------------

    def download_selected(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.start_download(name)

    def start_download(self, name: str) -> asyncio.Future[bool]:
        """Show ``name`` as downloading at once and download it on the loop; the future is
        True when the model was installed."""
        if name in self.tasks:
            return self.tasks[name]
        info = wm.model_info(name)
        self._cancels[name] = threading.Event()
        self._errors.pop(name, None)
        self._progress[name] = (0, info.size_mb * 1_000_000)
        self.message.setText(tr("Downloading {name} from {repo}…").format(
            name=name, repo=info.repo_id))
        self.refresh()
        task = self.tasks[name] = asyncio.ensure_future(self._download(name))
        return task

    def cancel_selected(self) -> None:
        name = self.selected_name()
        if name in self._cancels:
            self._cancels[name].set()

    def remove_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        try:
            wm.remove_model(name, self.models_dir)
        except wm.ModelError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(tr("{name} removed.").format(name=name))
        if self.choice.currentData() == name:  # new jobs would fail for want of it
            self.set_chosen(wm.DEFAULT_MODEL)
        self.refresh()
        self.models_changed.emit()

    async def _download(self, name: str) -> bool:
        loop = asyncio.get_running_loop()
        cancel = self._cancels[name]

        def report(done: int, total: int) -> None:  # on the download thread
            _post(loop, self._show_progress, name, done, total)

        try:
            await _in_daemon_thread(loop, lambda: download_model(
                name, self.models_dir, progress=report, cancel=cancel, endpoint=self.endpoint))
        except wm.DownloadCanceled:
            self.message.setText(tr("The download of {name} was canceled.").format(name=name))
            return False
        except wm.ModelError as exc:
            self._errors[name] = str(exc)
            self.message.setText(tr("{name} was not installed: {error}").format(
                name=name, error=exc))
            return False
        finally:
            self._progress.pop(name, None)
            self._cancels.pop(name, None)
            self.tasks.pop(name, None)
            self.refresh()
        self.message.setText(tr("{name} is installed.").format(name=name))
        self.models_changed.emit()
        return True

    def _show_progress(self, name: str, done: int, total: int) -> None:
        if name in self._progress:
            self._progress[name] = (done, total)
            self.table.set_rows([
                replace_progress(row, self._progress) for row in self.table.rows])


def replace_progress(row: ModelRow, progress: Mapping[str, tuple[int, int]]) -> ModelRow:
    if row.progress == progress.get(row.info.name):
        return row
    return replace(row, progress=progress.get(row.info.name))


def _post(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    """``callback(*args)`` on ``loop`` from another thread; nothing once the app has closed
    its loop (the download thread outlives the window at quit)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


def _in_daemon_thread(loop: asyncio.AbstractEventLoop, work: Callable[[], T]) -> asyncio.Future[T]:
    """``work()`` on a daemon thread, as a future of ``loop``: unlike an executor's threads,
    it does not hold up the app's exit."""
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = work()
        except BaseException as exc:  # handed to the awaiting coroutine
            _post(loop, settle, None, exc)
        else:
            _post(loop, settle, result, None)

    threading.Thread(target=run, name="model-download", daemon=True).start()
    return future
