"""``QtMainWindow``: the queue, the review pane beside it, the status bar and every action.

The window is built before any service runs (so it shows at once) and is given a core later
through ``attach_core``; until then files dropped or passed on the command line wait in
``intake.pending``. The work is in parts that can be read and tested alone: ``JobFeed`` (the
job list from the store and the bus), ``FileIntake`` (drop, paste, dialogs, refusals),
``ExportController`` (with ``export_plan``), ``HealthController``, and the action table
``qt_window_actions``. The window lays them out and calls the app's use cases through the
typed ``WindowCore``; it does no I/O of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
)
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ecg_desktop.app.pipeline import os_user_name
from ecg_desktop.app.team import viewer_of
from ecg_desktop.bootstrap import offered_languages
from ecg_desktop.config import Settings
from ecg_desktop.domain import Event, Job, JobStatus
from ecg_desktop.domain.events import TeamConnectionChanged

from .i18n import tr
from .prompts import Prompts
from .qt_export_controller import ExportController
from .qt_file_intake import FileIntake, paths_from_mime
from .qt_health_controller import HealthController
from .qt_job_actions import JobActionsController
from .qt_job_feed import JobFeed
from .qt_job_model import STATUS_GROUPS, QtJobModel
from .qt_queue_toolbar import QtQueueToolbar
from .qt_queue_view import QtQueueView
from .qt_status_bar import QtStatusBar
from .qt_tray import QtTray
from .qt_widgets import QtBanner, QtDropOverlay
from .qt_window_actions import build_actions, build_menus, retranslate_actions
from .services import WindowCore
from .tasks import Tasks

if TYPE_CHECKING:
    from .review import ReviewPane

class QtEventBridge(QObject):
    """Turns bus events (plain callbacks) into a Qt signal, so a publisher on another
    thread still reaches the widgets on the GUI thread (a queued connection)."""

    received = Signal(object)

    def handle(self, event: Event) -> None:
        self.received.emit(event)


class QtMainWindow(QMainWindow):
    settings_requested = Signal()

    def __init__(self, settings: Settings, *, prompts: Prompts | None = None,
                 qsettings: QSettings | None = None, icon: QIcon | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.prompts = prompts or Prompts(self)
        self.qsettings = qsettings or QSettings()
        self.core: WindowCore | None = None
        self.callback_url = ""
        self.tasks = Tasks()
        self._unsubscribe: Callable[[], None] | None = None
        self._actions_dirty = False
        self.review_pane: ReviewPane | None = None

        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1280, 760)
        if icon is not None:
            self.setWindowIcon(icon)
        self.model = QtJobModel(self)
        self.queue = QtQueueView(self.model, self)
        self.status = QtStatusBar(self)
        self.setStatusBar(self.status)
        self.tray = QtTray(icon or QIcon(), self)
        self.feed = JobFeed(self.model, self.tray.notify_job)
        self.intake = FileIntake(self, self.model, self.status, self.tasks, self.qsettings,
                                 core=lambda: self.core, prompts=lambda: self.prompts,
                                 settings=lambda: self.settings)
        self.exports = ExportController(self.tasks, self.qsettings, prompts=lambda: self.prompts)
        self.health = HealthController(self.status, self.tasks, lambda: self.prompts, self)
        self.jobs = JobActionsController(self, self.model, self.tasks, core=lambda: self.core,
                                         prompts=lambda: self.prompts,
                                         user_name=self._user_name)
        self._build_layout()
        self.actions_by_name = build_actions(self, self._slots())
        self.queue.addAction(self.actions_by_name["open"])
        self.queue.set_context_actions([self.actions_by_name[n] if n else None for n in (
            "open", None, "retry", "retryWith", "cancel", "delete", None, "copyId",
            "showFile", "export")])
        self._build_toolbar()
        self.menus = build_menus(self, self.actions_by_name)
        self._connect()
        self.retranslate()
        self._update_empty_hint()
        self._update_actions()
        self._restore_layout()

    # -- building --------------------------------------------------------------------------

    def _build_layout(self) -> None:
        self.banner = QtBanner(self)
        self.empty_hint = QLabel(self)
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setStyleSheet("color: palette(placeholder-text); font-size: 15px;")
        self.review_placeholder = QLabel(self)
        self.review_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.review_placeholder.setWordWrap(True)
        self.review_placeholder.setMinimumWidth(280)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.banner)
        left_layout.addWidget(self.queue, 1)
        left_layout.addWidget(self.empty_hint, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.review_placeholder)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.setCentralWidget(self.splitter)
        self.overlay = QtDropOverlay(self)

    def _slots(self) -> dict[str, Callable[[], object]]:
        return {
            "add": lambda: self.add_paths(self.intake.choose_files()),
            "addFolder": lambda: self.add_paths(self.intake.choose_folder()),
            "paste": self.paste_paths, "quit": self.close, "open": self.open_selected,
            "retry": lambda: self.jobs.retry(self.queue.selected_jobs()),
            "retryWith": lambda: self.jobs.retry_with(self.queue.current_job()),
            "cancel": lambda: self.jobs.cancel(self.queue.selected_jobs()),
            "delete": lambda: self.jobs.delete(self.queue.selected_jobs()),
            "copyId": self.copy_job_id, "showFile": self.show_file,
            "export": self.export_selected, "findTranscript": self.find_in_transcript,
            "findJobs": self.focus_job_filter, "settings": self.settings_requested.emit,
            "checkHealth": self.health.check_and_show, "openLog": self.open_log,
            "shortcuts": self.show_shortcuts, "about": self.show_about,
        }

    def _build_toolbar(self) -> None:
        self.toolbar = QtQueueToolbar(self.actions_by_name["add"], self)
        self.addToolBar(self.toolbar)
        self.language_box = self.toolbar.language_box
        self.status_filter = self.toolbar.status_filter
        self.owner_filter = self.toolbar.owner_filter
        self.search = self.toolbar.search
        self.set_batch_language(self.settings.default_language)

    def _connect(self) -> None:
        self.queue.activated_job.connect(self.open_job)
        self.queue.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.banner.action_clicked.connect(self.settings_requested)
        self.status.health_clicked.connect(self.health.check_and_show)
        self.tray.job_clicked.connect(self.select_job)
        self.tray.show_window.connect(self._raise)
        self.status_filter.currentIndexChanged.connect(self._apply_status_filter)
        self.search.textChanged.connect(self.queue.proxy.set_text)
        self.owner_filter.currentIndexChanged.connect(self._apply_owner_filter)
        self.bridge = QtEventBridge(self)
        self.bridge.received.connect(self._on_event)
        for signal in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            signal.connect(self._update_empty_hint)

    def _restore_layout(self) -> None:
        self.queue.restore_layout(self.qsettings)
        geometry = self.qsettings.value("window/geometry")
        if geometry:
            self.restoreGeometry(geometry)
        splitter_state = self.qsettings.value("window/splitter")
        self._splitter_restored = bool(splitter_state) and self.splitter.restoreState(
            splitter_state)
        if not self._splitter_restored:
            self.splitter.setSizes([920, 360])

    def retranslate(self) -> None:
        self.setWindowTitle(tr("ECG Desktop"))
        retranslate_actions(self.actions_by_name, self.menus)
        self.toolbar.retranslate()
        self.empty_hint.setText(tr(
            "Drop videos or folders here\nor press Add videos… (Ctrl+O)\n\n"
            "Each video is uploaded, analysed and turned into a transcript\n"
            "with speakers, word timings, loudness and pitch."))
        if self.review_pane is None:
            self.review_placeholder.setText(tr("Open a completed job to see its transcript."))
        self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0,
                                          self.model.columnCount() - 1)
        self.status.retranslate()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # -- the core --------------------------------------------------------------------------

    def attach_core(self, core: WindowCore, callback_url: str) -> None:
        """Services are up: subscribe to events, load the jobs, follow the health checks."""
        self.core = core
        self.settings = core.settings
        self.callback_url = callback_url
        self._unsubscribe = core.bus.subscribe(self.bridge.handle)
        self.show_services()
        self.tasks.spawn(self.feed.load(core.store, lambda: self.core is core,
                                        viewer=viewer_of(core.settings)))
        self.health.attach(core.health, core.settings.model_server_url or "embedded analyzer")
        self.intake.submit_pending(core)
        self._update_actions()

    def detach_core(self) -> None:
        self.health.detach()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = None
        self.core = None
        self.status.show_starting()
        self._update_actions()

    def attach_review_pane(self, pane: ReviewPane) -> None:
        self.review_pane = pane
        self.splitter.replaceWidget(1, pane)
        self.review_placeholder.hide()
        if not self._splitter_restored:
            width = max(self.splitter.width(), 1000)
            self.splitter.setSizes([width * 11 // 20, width * 9 // 20])

    def show_services(self) -> None:
        core = self.core
        if core is None:
            return
        settings = self.settings  # the core's own: its storage was opened from them
        self.status.show_services(
            self.callback_url, settings.allow_unsigned_callbacks,
            bucket=settings.s3_bucket_name,
            storage_where=(settings.s3_endpoint_url or settings.aws_region if settings.uses_s3
                           else str(settings.storage_dir)),
            store=core.store.describe(),
        )

    def show_problem(self, text: str, action: str = "") -> None:
        self.banner.show_message(text, action)

    def check_health(self) -> None:
        self.health.check()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, TeamConnectionChanged):
            self.status.show_store_state(event.state)
            return
        self.feed.apply(event)
        if not self._actions_dirty:  # many events, one update of the actions
            self._actions_dirty = True
            QTimer.singleShot(0, self._update_actions)

    # -- adding videos ---------------------------------------------------------------------

    @property
    def pending(self) -> list[tuple[Path, str]]:
        return self.intake.pending

    def batch_language(self) -> str:
        return str(self.language_box.currentData())

    def set_batch_language(self, code: str) -> None:
        """Select ``code``, after re-reading which languages the installed models offer."""
        self.toolbar.set_language(code, offered_languages(self.settings))

    def add_paths(self, paths: Iterable[Path], language: str | None = None) -> list[Path]:
        """Videos to add (see ``FileIntake.add_paths``)."""
        return self.intake.add_paths(paths, language or self.batch_language())

    def paste_paths(self) -> None:
        if self.search.hasFocus():
            self.search.paste()
            return
        paths = self.intake.pasted_paths()
        if paths:
            self.add_paths(paths)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if paths_from_mime(event.mimeData()):
            event.acceptProposedAction()
            self.overlay.show_over_parent(tr("Drop to add videos\nLanguage: {lang}").format(
                lang=self.language_box.currentText()))
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.overlay.hide()
        paths = paths_from_mime(event.mimeData())
        if paths:
            event.acceptProposedAction()
            # after the drop returns, so the source application is not kept waiting
            QTimer.singleShot(0, lambda: self.add_paths(paths))

    # -- job actions -----------------------------------------------------------------------

    def _selection_changed(self) -> None:
        self._update_actions()
        jobs = self.queue.selected_jobs()
        if len(jobs) == 1 and self.review_pane is not None:
            shown = self.review_pane.job
            if shown is None or shown.job_id != jobs[0].job_id:
                self.open_job(jobs[0])  # its transcript, or where it stands

    def _update_actions(self) -> None:
        self._actions_dirty = False
        jobs = self.queue.selected_jobs()
        ready = self.core is not None
        ended = (JobStatus.FAILED, JobStatus.CANCELED)
        enabled = {
            "open": len(jobs) == 1,
            "retry": ready and any(j.status in ended for j in jobs),
            "retryWith": ready and len(jobs) == 1 and jobs[0].status.is_terminal,
            "cancel": ready and any(not j.status.is_terminal for j in jobs),
            "delete": ready and bool(jobs),
            "copyId": bool(jobs),
            "showFile": len(jobs) == 1 and bool(jobs[0].local_path),
            "export": ready and any(j.status == JobStatus.COMPLETED for j in jobs),
        }
        for name, on in enabled.items():
            self.actions_by_name[name].setEnabled(on)

    def select_job(self, job_id: uuid.UUID) -> None:
        if not self.queue.select_job(job_id):
            self.status_filter.setCurrentIndex(0)
            self.owner_filter.setCurrentIndex(0)
            self.search.clear()
            self.queue.select_job(job_id)
        self._raise()

    def open_selected(self) -> None:
        job = self.queue.current_job()
        if job is not None:
            self.open_job(job)

    def open_job(self, job: Job) -> None:
        if self.review_pane is not None:
            self.tasks.spawn(self.review_pane.show_job(job))
        elif job.status == JobStatus.FAILED:
            self.prompts.show_info(tr("Job failed"), job.filename,
                                   f"{job.error_code or ''}: {job.error_message or ''}")

    def delete_selected(self) -> None:
        self.jobs.delete(self.queue.selected_jobs())

    def copy_job_id(self) -> None:
        jobs = self.queue.selected_jobs()
        if jobs:
            QGuiApplication.clipboard().setText("\n".join(str(j.job_id) for j in jobs))
            self.status.showMessage(tr("Copied %n job id(s)", "", len(jobs)), 3000)

    def show_file(self) -> None:
        job = self.queue.current_job()
        if job is None or not job.local_path:
            return
        folder = Path(job.local_path).parent
        if not folder.is_dir():
            self.prompts.show_error(tr("Show file"), tr("{path} no longer exists").format(
                path=job.local_path))
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def export_selected(self) -> None:
        if self.core is not None:
            self.exports.export(self.core.store, self.queue.selected_jobs(), self.settings)

    # -- the rest --------------------------------------------------------------------------

    def find_in_transcript(self) -> None:
        """Ctrl+F: the transcript's search when a transcript is shown, else the job filter."""
        pane = self.review_pane
        if pane is not None and pane.job is not None and pane.isVisible():
            pane.search.field.setFocus()
            pane.search.field.selectAll()
        else:
            self.focus_job_filter()

    def focus_job_filter(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def open_log(self) -> None:
        from ecg_desktop.config import log_dir

        from .logging_setup import LOG_NAME

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir() / LOG_NAME)))

    def show_shortcuts(self) -> None:
        from .qt_shortcuts_dialog import QtShortcutsDialog

        QtShortcutsDialog(self).open()

    def show_about(self) -> None:
        from ecg_desktop import __version__

        self.prompts.show_info(
            tr("About ECG Desktop"),
            tr("ECG Desktop {version}\nTranscripts with speakers, word timings, loudness and "
               "pitch.").format(version=__version__))

    def _user_name(self) -> str:
        """Who "my jobs" are: the configured name, else the login name (as new jobs get)."""
        return self.settings.user_name or os_user_name()

    def _apply_owner_filter(self) -> None:
        mine = self.owner_filter.currentData() == "mine"
        self.queue.proxy.set_owner(self._user_name() if mine else None)

    def _apply_status_filter(self) -> None:
        name = self.status_filter.currentData()
        self.queue.proxy.set_statuses(STATUS_GROUPS.get(name))

    def _update_empty_hint(self, *_: Any) -> None:
        empty = self.model.rowCount() == 0
        self.empty_hint.setVisible(empty)
        self.queue.setVisible(not empty)

    def _raise(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def ask_later(self, prompt: Callable[..., Any], *args: Any) -> None:
        self.tasks.ask_later(prompt, *args)

    async def wait_idle(self) -> None:
        """Wait for the window's own tasks (tests and shutdown)."""
        await self.tasks.wait_idle()

    def save_state(self) -> None:
        self.queue.save_layout(self.qsettings)
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/splitter", self.splitter.saveState())
        self.qsettings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        self.tray.hide()
        super().closeEvent(event)
