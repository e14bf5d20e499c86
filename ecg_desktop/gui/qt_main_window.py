"""``QtMainWindow``: the queue, the review pane beside it, the status bar and every action.

The window is built before any service runs (so it shows at once) and is given a ``Core``
later through ``attach_core``; until then files dropped or passed on the command line wait
in ``pending``. Job changes arrive as bus events and go to the model row by row. User actions
call the app's use cases (``core.pipeline``); the window does no I/O of its own.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QMimeData,
    QObject,
    QSettings,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ecg_desktop.app.pipeline import os_user_name
from ecg_desktop.app.ports import HealthReport, JobQuery
from ecg_desktop.config import LANGUAGES, Settings
from ecg_desktop.domain import Event, Job, JobChanged, JobStatus
from ecg_desktop.domain.events import TeamConnectionChanged

from .adding import paths_from_text, sort_paths
from .i18n import tr
from .prompts import Prompts
from .qt_job_model import STATUS_GROUPS, Column, QtJobModel, marked
from .qt_queue_view import QtQueueView
from .qt_status_bar import QtStatusBar
from .qt_tray import QtTray
from .qt_widgets import QtBanner, QtDropOverlay

logger = logging.getLogger(__name__)

HEALTH_INTERVAL_MS = 15_000
HEALTH_TIMEOUT_S = 10.0
FIRST_PAGE = 200  # shown at once; the rest follows in pages
PAGE = 2000
LANGUAGE_NAMES = {
    "auto": "Detect automatically", "ko": "Korean", "en": "English", "ja": "Japanese",
    "zh": "Chinese",
}


def _mark_languages() -> None:  # pragma: no cover - only read by pyside6-lupdate
    tr("Detect automatically")
    tr("Korean")
    tr("English")
    tr("Japanese")
    tr("Chinese")


class QtEventBridge(QObject):
    """Turns bus events (plain callbacks) into a Qt signal, so a publisher on another
    thread still reaches the widgets on the GUI thread (a queued connection)."""

    received = Signal(object)

    def handle(self, event: Event) -> None:
        self.received.emit(event)


class QtMainWindow(QMainWindow):
    settings_requested = Signal()
    health_checked = Signal(object)  # HealthReport, after every check

    def __init__(
        self,
        settings: Settings,
        *,
        prompts: Prompts | None = None,
        qsettings: QSettings | None = None,
        icon: QIcon | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.prompts = prompts or Prompts(self)
        self.qsettings = qsettings or QSettings()
        self.core: Any = None
        self.callback_url = ""
        self.pending: list[tuple[Path, str]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._loading = False
        self._held_events: list[Event] = []
        self._health_lock = asyncio.Lock()
        self._actions_dirty = False
        self.review_pane: Any = None

        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1280, 760)
        if icon is not None:
            self.setWindowIcon(icon)

        self.model = QtJobModel(self)
        self.queue = QtQueueView(self.model, self)
        self.queue.activated_job.connect(lambda job: self.open_job(job))
        self.queue.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.banner = QtBanner(self)
        self.banner.action_clicked.connect(self.settings_requested)
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

        self.status = QtStatusBar(self)
        self.status.health_clicked.connect(self.check_health_now_and_show)
        self.setStatusBar(self.status)

        self._build_actions()
        self._build_toolbar()
        self._build_menus()
        self.tray = QtTray(icon or QIcon(), self)
        self.tray.job_clicked.connect(self.select_job)
        self.tray.show_window.connect(self._raise)

        self.bridge = QtEventBridge(self)
        self.bridge.received.connect(self._on_event)
        self.health_bridge = QtEventBridge(self)
        self.health_bridge.received.connect(self._on_health_report)
        self._unsubscribe_health: Callable[[], None] | None = None
        self.model.rowsInserted.connect(self._update_empty_hint)
        self.model.rowsRemoved.connect(self._update_empty_hint)
        self.model.modelReset.connect(self._update_empty_hint)

        self.health_timer = QTimer(self)
        self.health_timer.setInterval(HEALTH_INTERVAL_MS)
        self.health_timer.timeout.connect(self.check_health)

        self.retranslate()
        self._update_empty_hint()
        self._update_actions()
        self.queue.restore_layout(self.qsettings)
        geometry = self.qsettings.value("window/geometry")
        if geometry:
            self.restoreGeometry(geometry)
        splitter_state = self.qsettings.value("window/splitter")
        self._splitter_restored = bool(splitter_state) and self.splitter.restoreState(
            splitter_state)
        if not self._splitter_restored:
            self.splitter.setSizes([920, 360])

    # -- building --------------------------------------------------------------------------

    def _action(self, name: str, slot: Callable[[], Any],
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                icon: str | None = None) -> QAction:
        action = QAction(self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if icon:
            action.setIcon(QIcon.fromTheme(icon))
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self.add_action = self._action("add", self.choose_files, key.Open, "list-add")
        self.add_folder_action = self._action("addFolder", self.choose_folder, "Ctrl+Shift+O",
                                              "folder-open")
        self.paste_action = self._action("paste", self.paste_paths, key.Paste, "edit-paste")
        self.quit_action = self._action("quit", self.close, key.Quit, "application-exit")
        self.open_action = self._action("open", self.open_selected, "Return", "document-open")
        self.open_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.queue.addAction(self.open_action)
        self.retry_action = self._action("retry", self.retry_selected, "Ctrl+R", "view-refresh")
        self.cancel_action = self._action("cancel", self.cancel_selected, "Ctrl+.",
                                          "process-stop")
        self.delete_action = self._action("delete", self.delete_selected, key.Delete,
                                          "edit-delete")
        self.copy_id_action = self._action("copyId", self.copy_job_id, "Ctrl+Shift+C",
                                           "edit-copy")
        self.show_file_action = self._action("showFile", self.show_file, "Ctrl+Shift+F",
                                             "folder")
        self.export_action = self._action("export", self.export_selected, "Ctrl+E",
                                          "document-save-as")
        self.find_action = self._action("find", self._focus_search, key.Find, "edit-find")
        self.settings_action = self._action("settings", self.settings_requested.emit,
                                            key.Preferences, "preferences-system")
        for action, fallback in ((self.settings_action, "Ctrl+,"), (self.quit_action, "Ctrl+Q")):
            if action.shortcut().isEmpty():  # the platform has no standard key for it
                action.setShortcut(QKeySequence(fallback))
        self.health_action = self._action("checkHealth", self.check_health_now_and_show, "F5",
                                          "network-wired")
        self.log_action = self._action("openLog", self.open_log, "Ctrl+L", "text-x-generic")
        self.about_action = self._action("about", self.show_about, key.HelpContents,
                                         "help-about")
        self.queue.set_context_actions([
            self.open_action, None, self.retry_action, self.cancel_action, self.delete_action,
            None, self.copy_id_action, self.show_file_action, self.export_action,
        ])

    def _build_toolbar(self) -> None:
        bar = QToolBar(self)
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addAction(self.add_action)
        self.language_label = QLabel(self)
        self.language_box = QComboBox(self)
        self.language_box.setObjectName("languageBox")
        for code in LANGUAGES:
            self.language_box.addItem(code, code)
        self.language_label.setBuddy(self.language_box)
        self._set_batch_language(self.settings.default_language)
        bar.addSeparator()
        bar.addWidget(self.language_label)
        bar.addWidget(self.language_box)
        spacer = QWidget(self)
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy())
        bar.addWidget(spacer)
        self.status_filter = QComboBox(self)
        self.status_filter.setObjectName("statusFilter")
        for name in STATUS_GROUPS:
            self.status_filter.addItem(name, name)
        self.status_filter.currentIndexChanged.connect(self._apply_status_filter)
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(220)
        self.search.textChanged.connect(self.queue.proxy.set_text)
        self.owner_filter = QComboBox(self)  # team mode: my jobs or everyone's
        self.owner_filter.setObjectName("ownerFilter")
        self.owner_filter.addItem("", "everyone")
        self.owner_filter.addItem("", "mine")
        self.owner_filter.currentIndexChanged.connect(self._apply_owner_filter)
        bar.addWidget(self.owner_filter)
        bar.addWidget(self.status_filter)
        bar.addWidget(self.search)
        self.addToolBar(bar)
        self.toolbar = bar

    def _build_menus(self) -> None:
        menus = self.menuBar()
        self.file_menu = menus.addMenu("")
        for action in (self.add_action, self.add_folder_action, self.paste_action, None,
                       self.quit_action):
            self.file_menu.addSeparator() if action is None else self.file_menu.addAction(action)
        self.job_menu = menus.addMenu("")
        for entry in self.queue.context_actions:
            self.job_menu.addSeparator() if entry is None else self.job_menu.addAction(entry)
        self.view_menu = menus.addMenu("")
        self.view_menu.addAction(self.find_action)
        self.tools_menu = menus.addMenu("")
        for action in (self.settings_action, self.health_action, self.log_action):
            self.tools_menu.addAction(action)
        self.help_menu = menus.addMenu("")
        self.help_menu.addAction(self.about_action)

    def retranslate(self) -> None:
        self.setWindowTitle(tr("ECG Desktop"))
        texts = {
            self.add_action: tr("&Add videos…"),
            self.add_folder_action: tr("Add &folder…"),
            self.paste_action: tr("&Paste paths"),
            self.quit_action: tr("&Quit"),
            self.open_action: tr("&Open transcript"),
            self.retry_action: tr("&Retry"),
            self.cancel_action: tr("&Cancel job"),
            self.delete_action: tr("&Delete…"),
            self.copy_id_action: tr("Copy job &ID"),
            self.show_file_action: tr("&Show file"),
            self.export_action: tr("&Export…"),
            self.find_action: tr("&Find jobs"),
            self.settings_action: tr("&Settings…"),
            self.health_action: tr("Check ML server &now"),
            self.log_action: tr("Open &log file"),
            self.about_action: tr("&About ECG Desktop"),
        }
        for action, text in texts.items():
            action.setText(text)
            shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            plain = text.replace("&", "").rstrip("…")
            action.setToolTip(f"{plain} ({shortcut})" if shortcut else plain)
        self.file_menu.setTitle(tr("&File"))
        self.job_menu.setTitle(tr("&Job"))
        self.view_menu.setTitle(tr("&View"))
        self.tools_menu.setTitle(tr("&Tools"))
        self.help_menu.setTitle(tr("&Help"))
        self.language_label.setText(tr("  &Language of new videos: "))
        for i in range(self.language_box.count()):
            code = self.language_box.itemData(i)
            self.language_box.setItemText(i, f"{tr(LANGUAGE_NAMES[code])} ({code})")
        for i in range(self.status_filter.count()):
            self.status_filter.setItemText(
                i, marked(self.status_filter.itemData(i)))
        self.status_filter.setToolTip(tr("Show jobs by status"))
        self.owner_filter.setItemText(0, tr("Everyone's jobs"))
        self.owner_filter.setItemText(1, tr("My jobs"))
        self.owner_filter.setToolTip(tr("Show the jobs you added, or everyone's"))
        self.search.setPlaceholderText(tr("Filter by file name or job id"))
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

    def attach_core(self, core: Any, callback_url: str) -> None:
        """Services are up: subscribe to events, load the jobs, start health checks."""
        self.core = core
        self.settings = core.settings
        self.callback_url = callback_url
        self._unsubscribe = core.bus.subscribe(self.bridge.handle)
        self.show_services()
        self._spawn(self.load_jobs())
        monitor = getattr(core, "health", None)
        if monitor is not None and hasattr(monitor, "subscribe"):
            # the monitor checks every 15 s by itself; we show each report it makes
            self._unsubscribe_health = monitor.subscribe(self.health_bridge.handle)
            if monitor.last_report is not None:
                self._on_health_report(monitor.last_report)
        else:
            self.health_timer.start()
            self.check_health()
        if self.pending:
            waiting, self.pending = self.pending, []
            for path, language in waiting:
                self._spawn(self._submit([path], language))
        self._update_actions()

    def detach_core(self) -> None:
        self.health_timer.stop()
        for unsubscribe in (self._unsubscribe, self._unsubscribe_health):
            if unsubscribe is not None:
                unsubscribe()
        self._unsubscribe = self._unsubscribe_health = None
        self.core = None
        self.status.show_starting()
        self._update_actions()

    def attach_review_pane(self, pane: QWidget) -> None:
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
            store=_describe(core.store),
        )

    def show_problem(self, text: str, action: str = "") -> None:
        self.banner.show_message(text, action)

    async def load_jobs(self) -> None:
        """Show the stored jobs: the newest page at once, the rest in pages after it.

        Events that arrive while the first page is read are applied after it; later pages
        skip jobs an event has already brought in (the event's state is the newer one).
        """
        core = self.core
        self._loading = True
        try:
            page = await core.store.list(JobQuery(limit=FIRST_PAGE))
            self.model.set_jobs(page)
        finally:
            self._loading = False
            held, self._held_events = self._held_events, []
            for event in held:
                self.model.apply_event(event)
        offset, size = len(page), FIRST_PAGE
        while len(page) == size and core is self.core:  # a full page: there may be more
            size = PAGE
            page = await core.store.list(JobQuery(limit=size, offset=offset))
            self.model.append_jobs(page)
            offset += len(page)
        if (self.model.sort_column, self.model.sort_order) != (
            Column.CREATED, Qt.SortOrder.DescendingOrder
        ):
            self.model.sort(self.model.sort_column, self.model.sort_order)

    def _on_event(self, event: Event) -> None:
        if self._loading and not isinstance(event, TeamConnectionChanged):
            self._held_events.append(event)
            return
        if isinstance(event, TeamConnectionChanged):
            self.status.show_store_state(event.state)
            return
        if isinstance(event, JobChanged):
            before = self.model.job(event.job.job_id)
            self.model.upsert(event.job)
            if event.job.status in (JobStatus.COMPLETED, JobStatus.FAILED) and (
                before is None or before.status != event.job.status
            ):
                self.tray.notify_job(event.job)
        else:
            self.model.apply_event(event)
        if not self._actions_dirty:  # many events, one update of the actions
            self._actions_dirty = True
            QTimer.singleShot(0, self._update_actions)

    # -- adding videos ---------------------------------------------------------------------

    def batch_language(self) -> str:
        return str(self.language_box.currentData())

    def _set_batch_language(self, code: str) -> None:
        index = self.language_box.findData(code)
        self.language_box.setCurrentIndex(max(index, 0))

    def add_paths(self, paths: Iterable[Path], language: str | None = None) -> list[Path]:
        """Check ``paths`` (refusing non-videos with their reasons, asking about duplicates)
        and submit the videos; returns the videos submitted or waiting for the services."""
        sorted_paths = sort_paths(list(paths), self.model.queued_paths()
                                  + [str(p) for p, _ in self.pending])
        if sorted_paths.refused:
            self.prompts.show_refused(sorted_paths.refused)
        videos = list(sorted_paths.videos)
        if sorted_paths.duplicates and self.prompts.confirm_duplicates(sorted_paths.duplicates):
            videos += sorted_paths.duplicates
        if not videos:
            return []
        language = language or self.batch_language()
        if self.core is None:
            self.pending += [(path, language) for path in videos]
            self.status.showMessage(
                tr("{n} video(s) will start when the services are ready").format(n=len(videos)),
                5000)
        else:
            self._spawn(self._submit(videos, language))
        return videos

    async def _submit(self, videos: Sequence[Path], language: str) -> None:
        for path in videos:
            try:
                job = await self.core.pipeline.submit_file(path, language)
            except Exception as exc:
                logger.exception("could not queue %s", path)
                self.ask_later(self.prompts.show_error, tr("Could not add a video"),
                               f"{path.name}: {exc}")
                continue
            self.model.upsert(job)

    def choose_files(self) -> None:
        folder = str(self.qsettings.value("add/lastFolder", str(Path.home())))
        files, _ = QFileDialog.getOpenFileNames(
            self, tr("Add videos"), folder,
            tr("Videos (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.3gp "
               "*.ts *.mts *.ogv);;All files (*)"))
        if files:
            self.qsettings.setValue("add/lastFolder", str(Path(files[0]).parent))
            self.add_paths(Path(f) for f in files)

    def choose_folder(self) -> None:
        folder = str(self.qsettings.value("add/lastFolder", str(Path.home())))
        chosen = QFileDialog.getExistingDirectory(self, tr("Add a folder of videos"), folder)
        if chosen:
            self.qsettings.setValue("add/lastFolder", chosen)
            self.add_paths([Path(chosen)])

    def paste_paths(self) -> None:
        if self.search.hasFocus():
            self.search.paste()
            return
        mime = QGuiApplication.clipboard().mimeData()
        paths = _paths_from_mime(mime) if mime is not None else []
        if paths:
            self.add_paths(paths)
        else:
            self.status.showMessage(tr("The clipboard holds no file paths"), 4000)

    # -- drag and drop ---------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _paths_from_mime(event.mimeData()):
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
        paths = _paths_from_mime(event.mimeData())
        if paths:
            event.acceptProposedAction()
            # after the drop returns, so the source application is not kept waiting
            QTimer.singleShot(0, lambda: self.add_paths(paths))

    # -- job actions -----------------------------------------------------------------------

    def _selection_changed(self) -> None:
        self._update_actions()
        jobs = self.queue.selected_jobs()
        if len(jobs) == 1 and self.review_pane is not None:
            self._review_unless_shown(jobs[0])  # its transcript, or where it stands

    def _review_unless_shown(self, job: Job) -> None:
        shown = getattr(self.review_pane, "job", None)
        if shown is None or shown.job_id != job.job_id:
            self.open_job(job)

    def _update_actions(self) -> None:
        self._actions_dirty = False
        jobs = self.queue.selected_jobs()
        ready = self.core is not None
        self.open_action.setEnabled(len(jobs) == 1)
        self.retry_action.setEnabled(ready and any(
            j.status in (JobStatus.FAILED, JobStatus.CANCELED) for j in jobs))
        self.cancel_action.setEnabled(ready and any(not j.status.is_terminal for j in jobs))
        self.delete_action.setEnabled(ready and bool(jobs))
        self.copy_id_action.setEnabled(bool(jobs))
        self.show_file_action.setEnabled(len(jobs) == 1 and bool(jobs[0].local_path))
        self.export_action.setEnabled(ready and any(
            j.status == JobStatus.COMPLETED for j in jobs))

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
            self._spawn(self.review_pane.show_job(job))
        elif job.status == JobStatus.FAILED:
            self.prompts.show_info(tr("Job failed"), job.filename,
                                   f"{job.error_code or ''}: {job.error_message or ''}")

    def retry_selected(self) -> None:
        jobs = [j for j in self.queue.selected_jobs()
                if j.status in (JobStatus.FAILED, JobStatus.CANCELED)]
        if jobs and self.core is not None:
            self._spawn(self._each(jobs, self.core.pipeline.retry, tr("Could not retry")))

    def cancel_selected(self) -> None:
        jobs = [j for j in self.queue.selected_jobs() if not j.status.is_terminal]
        if jobs and self.core is not None:
            self._spawn(self._each(jobs, self.core.pipeline.cancel, tr("Could not cancel")))

    def delete_selected(self) -> None:
        jobs = self.queue.selected_jobs()
        if not jobs or self.core is None:
            return
        others = [j for j in jobs if j.owner and j.owner != self._user_name()]
        if others and not self.prompts.confirm_delete_others(others):
            return
        if not self.prompts.confirm_delete(jobs):
            return
        pipeline = self.core.pipeline

        async def delete(job_id: uuid.UUID) -> None:
            await pipeline.delete(job_id, delete_object=True)

        self._spawn(self._each(jobs, delete, tr("Could not delete")))

    async def _each(self, jobs: Sequence[Job],
                    call: Callable[[uuid.UUID], Coroutine[Any, Any, Any]], title: str) -> None:
        for job in jobs:
            try:
                outcome = await call(job.job_id)
            except Exception as exc:
                logger.exception("%s %s", title, job.job_id)
                self.ask_later(self.prompts.show_error, title, f"{job.filename}: {exc}")
                continue
            if isinstance(outcome, Job):
                self.model.upsert(outcome)

    def copy_job_id(self) -> None:
        jobs = self.queue.selected_jobs()
        if jobs:
            QGuiApplication.clipboard().setText("\n".join(str(j.job_id) for j in jobs))
            self.status.showMessage(tr("Copied {n} job id(s)").format(n=len(jobs)), 3000)

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
        jobs = [j for j in self.queue.selected_jobs() if j.status == JobStatus.COMPLETED]
        if not jobs or self.core is None:
            return
        from ecg_desktop.app.exports import ExportFormat, export_jobs, file_name_for

        filters = {
            ExportFormat.JSON: tr("JSON (*.json)"),
            ExportFormat.CSV: tr("CSV, one row per word (*.csv)"),
            ExportFormat.SRT: tr("SubRip subtitles (*.srt)"),
            ExportFormat.VTT: tr("WebVTT subtitles (*.vtt)"),
            ExportFormat.TXT: tr("Plain text (*.txt)"),
        }
        folder = Path(str(self.qsettings.value("export/lastFolder", str(Path.home()))))
        suggested = folder / (file_name_for(jobs[0], ExportFormat.JSON) if len(jobs) == 1
                              else "transcripts.json")
        path, chosen = self.prompts.ask_save_path(tr("Export transcripts"), str(suggested),
                                                  list(filters.values()))
        if not path:
            return
        target = Path(path)
        typed = next((f for f in ExportFormat if f.extension == target.suffix.lower()), None)
        fmt = typed or next((f for f, text in filters.items() if text == chosen),
                            ExportFormat.JSON)
        if len(jobs) > 1 and fmt in (ExportFormat.SRT, ExportFormat.VTT):
            target = target.parent  # subtitles of several jobs go one file per job
        elif target.suffix.lower() != fmt.extension:
            target = target.with_suffix(fmt.extension)
        self.qsettings.setValue("export/lastFolder", str(target if target.is_dir()
                                                         else target.parent))
        store = self.core.store

        async def export() -> None:
            try:
                written = await export_jobs(store, [j.job_id for j in jobs], fmt, target)
            except Exception as exc:
                logger.exception("export failed")
                self.ask_later(self.prompts.show_error, tr("Export failed"), str(exc))
                return
            self.status.showMessage(tr("Exported {n} file(s) to {where}").format(
                n=len(written), where=written[0].parent if written else target), 6000)

        self._spawn(export())

    # -- health ----------------------------------------------------------------------------

    def check_health(self) -> None:
        if self.core is not None and not self._health_lock.locked():
            self._spawn(self._check_health())

    async def _check_health(self) -> HealthReport | None:
        core = self.core
        if core is None:
            return None
        async with self._health_lock:
            self.status.health.show_checking()
            try:
                report = await asyncio.wait_for(_health_call(core), HEALTH_TIMEOUT_S + 2)
            except Exception as exc:
                url = core.settings.model_server_url or "embedded analyzer"
                report = HealthReport(False, "unreachable", url, None,
                                      reason=str(exc) or type(exc).__name__)
        if self._unsubscribe_health is None:  # else the monitor's report arrived already
            self._on_health_report(report)
        return report

    def _on_health_report(self, report: HealthReport) -> None:
        self.status.health.show_report(report, datetime.now(UTC))
        self.health_checked.emit(report)

    def check_health_now_and_show(self) -> None:
        async def check_and_show() -> None:
            report = await self._check_health()
            if report is not None:
                self.ask_later(self.prompts.show_info, tr("ML server health"),
                               _health_summary(report), _health_details(report))

        if self.core is not None:
            self._spawn(check_and_show())

    # -- the rest --------------------------------------------------------------------------

    def open_log(self) -> None:
        from ecg_desktop.config import log_dir

        from .logging_setup import LOG_NAME

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir() / LOG_NAME)))

    def show_about(self) -> None:
        from ecg_desktop import __version__

        self.prompts.show_info(
            tr("About ECG Desktop"),
            tr("ECG Desktop {version}\nTranscripts with speakers, word timings, loudness and "
               "pitch.").format(version=__version__))

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

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
        """Show a (modal) prompt from a coroutine: outside the running task, because a
        modal dialog runs a nested event loop and asyncio cannot step another task while
        one is being executed."""
        QTimer.singleShot(0, lambda: prompt(*args))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("window task failed", exc_info=task.exception())

    async def wait_idle(self) -> None:
        """Wait for the window's own tasks (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def save_state(self) -> None:
        self.queue.save_layout(self.qsettings)
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/splitter", self.splitter.saveState())
        self.qsettings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        self.tray.hide()
        super().closeEvent(event)


def _describe(adapter: Any) -> str:
    try:
        return str(adapter.describe())
    except Exception:  # a status bar must not take the window down
        logger.exception("describe() failed on %r", type(adapter).__name__)
        return type(adapter).__name__


async def _health_call(core: Any) -> HealthReport:
    monitor = getattr(core, "health", None)
    if monitor is not None:
        report = await monitor.check_now()
        if report is not None:
            return report  # type: ignore[no-any-return]
    return await core.ml_client.health()  # type: ignore[no-any-return]


def _health_summary(report: HealthReport) -> str:
    state = {"healthy": tr("healthy"), "unhealthy": tr("unhealthy"),
             "unreachable": tr("unreachable")}.get(report.status, report.status)
    text = tr("{url} is {state}.").format(url=report.url or tr("The ML server"), state=state)
    if report.response_time_ms is not None:
        text += " " + tr("It answered in {ms:.0f} ms.").format(ms=report.response_time_ms)
    if report.reason:
        text += "\n" + report.reason
    return text


def _health_details(report: HealthReport) -> str:
    import json

    answer = {
        "status": report.status, "ml_server_url": report.url,
        "response_time_ms": report.response_time_ms, "http_status": report.http_status,
        "response": report.response, "reason": report.reason,
    }
    return json.dumps(answer, indent=2, ensure_ascii=False, default=str)


def _paths_from_mime(mime: QMimeData) -> list[Path]:
    if mime.hasUrls():
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    if mime.hasText():
        return [p for p in paths_from_text(mime.text()) if p.is_absolute()]
    return []
