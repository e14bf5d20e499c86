"""The desktop app's start and stop: window first, services after.

``run_gui`` creates the QApplication, shows the main window (with the stored language and
colour scheme) and only then, on the qasync loop, builds the core and starts the embedded
server (and with it the reference analyzer when no ML server is configured). Closing the
window stops them. Heavy modules (the server, the store, the review pane) are imported
inside the coroutine, after the window is on screen.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QApplication

from ecg_desktop.config import ConfigError, Settings

from .gui_thread_gc import collect_on_gui_thread
from .i18n import Translations, tr
from .qt_main_window import QtMainWindow
from .resources import icon_path
from .services import DesktopServices, StartProblem

if TYPE_CHECKING:
    from .qt_settings_dialog import QtSettingsDialog
from .theme import apply_theme, follow_system

logger = logging.getLogger(__name__)

ORGANIZATION = "ecg-desktop"
APPLICATION = "ecg-desktop"


def load_file_settings() -> tuple[Settings, ConfigError | None]:
    """Settings from the environment and the config file (no keyring: that may be slow and
    is read after the window is shown). A bad value yields the defaults and the error."""
    from ecg_desktop.config import load_settings

    try:
        return load_settings(), None
    except ConfigError as exc:
        return Settings(), exc


def load_full_settings() -> Settings:
    """Settings including the secrets from the keyring (runs in a worker thread)."""
    from ecg_desktop.config.secrets import load_settings_with_secrets

    return load_settings_with_secrets()


def make_application(argv: Sequence[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(
        list(argv or sys.argv[:1]))
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("ECG Desktop")
    app.setDesktopFileName("ecg-desktop")
    from ecg_desktop import __version__

    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(icon_path())))
    apply_theme(app)
    follow_system(app)
    collect_on_gui_thread(app)  # Qt objects must die on the GUI thread; see gui_thread_gc
    return app


class DesktopApp(QObject):
    """Owns the window, the translators and the services; ``run()`` lasts as long as the
    window is open."""

    ready = Signal()

    def __init__(self, app: QApplication, settings: Settings, *,
                 config_problem: ConfigError | None = None,
                 qsettings: QSettings | None = None) -> None:
        super().__init__()
        self.app = app
        self.settings = settings
        self.translations = Translations()
        self.translations.apply(settings.ui_language)
        self.window = QtMainWindow(settings, qsettings=qsettings, icon=app.windowIcon())
        self.window.settings_requested.connect(self.open_settings)
        self.services = DesktopServices(settings)
        self._closed = asyncio.Event()
        self._window_close = self.window.closeEvent
        self.window.closeEvent = self._on_close  # type: ignore[method-assign]
        self.config_problem = config_problem
        if config_problem is not None:
            self.window.show_problem(
                tr("A setting is invalid and the defaults are used: {error}").format(
                    error=config_problem), tr("Settings…"))
        self.settings_dialog: QtSettingsDialog | None = None

    def _on_close(self, event: QCloseEvent) -> None:
        self._window_close(event)
        if event.isAccepted():
            self._closed.set()

    async def run(self, *, until_ready: bool = False) -> StartProblem | None:
        """Start the services, then wait for the window to close (or, with
        ``until_ready``, return once they are up) and stop them."""
        problem = await self.start_services()
        if not until_ready:
            await self._closed.wait()
            await self.stop()
        return problem

    async def start_services(self) -> StartProblem | None:
        self.window.status.show_starting()
        try:
            settings = await asyncio.to_thread(load_full_settings)
        except ConfigError as exc:
            settings = self.settings
            self.window.show_problem(str(exc), tr("Settings…"))
        self.settings = self.services.settings = settings
        problem = await self.services.start()
        self._after_start(problem)
        return problem

    def _after_start(self, problem: StartProblem | None) -> None:
        if problem is not None:
            self.window.show_problem(self.describe_problem(problem), tr("Settings…"))
        elif self.config_problem is None:
            self.window.banner.hide()
        if self.services.core is not None:
            self.window.attach_core(self.services.core, self.services.callback_url)
            self._note_port_not_needed()
            team = self.services.core.team
            if team is not None:  # after a reconnection, rows deleted meanwhile are dropped
                team.known_ids = lambda: [job.job_id for job in self.window.model.jobs()]
                # The link may have come up before the window subscribed to the bus.
                self.window.status.show_store_state(team.state)
            self._attach_review_pane()
        self.ready.emit()

    def _note_port_not_needed(self) -> None:
        taken = self.services.port_not_needed
        if taken is None:
            return
        self.window.status.showMessage(tr(
            "Port {port} is taken, so this desktop's callback server is off; not needed in "
            "team mode: results arrive through the team backend {url}."
        ).format(port=taken.port, url=self.settings.fastapi_base_url))

    def describe_problem(self, problem: StartProblem) -> str:
        if problem.kind == "port_in_use":
            return tr(
                "The callback server cannot listen on {host}:{port}: the port is already in "
                "use (another ECG Desktop, or another program). Results from the ML server "
                "cannot arrive until it runs. Choose another port in Settings → Callback "
                "server, or start the app with ECG_BIND_PORT=<port>."
            ).format(host=problem.host, port=problem.port)
        if problem.kind == "config":
            return tr("A setting is invalid: {error}. Fix it in Settings.").format(
                error=problem.message)
        return tr("The services could not start: {error}").format(error=problem.message)

    def _attach_review_pane(self) -> None:
        core = self.services.core
        if self.window.review_pane is not None or core is None:
            return
        from ecg_desktop.gui.review import ReviewPane  # heavy: after the window is shown

        self.window.attach_review_pane(ReviewPane(core, storage=core.storage))

    async def apply_settings(self, settings: Settings) -> StartProblem | None:
        """New settings from the dialog: the UI language at once, the services restarted
        with the new adapters (jobs in flight resume from the store)."""
        old = self.settings
        try:
            await asyncio.to_thread(persist_settings, settings, old)
        except Exception as exc:
            logger.exception("the settings could not be saved")
            self.window.ask_later(self.window.prompts.show_error, tr("Settings not saved"),
                                  str(exc))
            return None
        self.settings = settings
        if settings.ui_language != old.ui_language:
            self.translations.apply(settings.ui_language)
        self.window.settings = settings
        self.window.set_batch_language(settings.default_language)
        core = self.services.core
        if core is None or not core.apply_live_settings(old, settings):
            self.window.detach_core()
            problem = await self.services.restart(settings)
            self._after_start(problem)
            return problem
        self.services.settings = settings
        self.window.show_services()
        self.window.check_health()
        return None

    def open_settings(self) -> None:
        from .qt_settings_dialog import QtSettingsDialog

        dialog = QtSettingsDialog(self.settings, self.window)
        dialog.test_database = _test_database
        dialog.applied.connect(lambda s: self.window.tasks.spawn(self.apply_settings(s)))
        self.settings_dialog = dialog
        dialog.open()

    async def stop(self) -> None:
        self.window.detach_core()
        await self.window.wait_idle()
        await self.services.stop()


def persist_settings(settings: Settings, old: Settings) -> None:
    """Write the settings file and put changed secrets in the keyring (worker thread)."""
    from ecg_desktop.config import save_settings
    from ecg_desktop.config.settings import SECRET_FIELDS

    save_settings(settings)
    # (a secret that is no field of its own, as the database password, is saved with its URL)
    own_fields = {f.name for f in fields(Settings)}
    changed = [name for name in sorted(SECRET_FIELDS & own_fields)
               if getattr(settings, name) != getattr(old, name)]
    if not changed:
        return
    from ecg_desktop.config.secrets import store_secret

    for name in changed:
        store_secret(name, getattr(settings, name))


async def _test_database(url: str) -> str:
    """Reach the job store at ``url`` without changing it: the settings dialog's test button.
    Raises the store's error (which names the problem) when it cannot be reached."""
    from ecg_desktop.bootstrap import open_job_store

    store = await open_job_store(url, migrate=False)
    try:
        try:
            count = await store.count()
        except Exception:
            return tr("Connected to {where}; its tables are created on first use.").format(
                where=store.describe())
        return tr("Connected to {where}: %n job(s).", "", count).format(where=store.describe())
    finally:
        await store.close()


def run_gui(files: Sequence[str], *, verbose: bool = False, self_check: bool = False) -> int:
    import qasync

    from ecg_desktop.config import log_dir

    from .logging_setup import configure_logging

    started = time.perf_counter()
    if self_check:
        return _self_check(verbose)
    configure_logging(log_dir(), verbose=verbose)
    app = make_application()
    app.setQuitOnLastWindowClosed(False)
    settings, problem = load_file_settings()
    desktop = DesktopApp(app, settings, config_problem=problem)
    desktop.window.show()
    logger.info("window shown after %.0f ms", (time.perf_counter() - started) * 1000)
    _close_on_signals(desktop.window)
    if files:
        desktop.window.add_paths(Path(f).expanduser() for f in files)
    qasync.run(desktop.run())
    return 0


def _close_on_signals(window: QtMainWindow) -> None:
    """Ctrl+C in the terminal and SIGTERM close the window, so the services stop cleanly.
    Python runs signal handlers only between bytecodes; the timer gives it the chance while
    Qt waits for events."""
    def close(signum: int, frame: object) -> None:
        logger.info("signal %s: closing the window", signum)
        QTimer.singleShot(0, window.close)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, close)
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(250)


def _self_check(verbose: bool) -> int:
    """Build the window, start every service on a throw-away data folder and a free port,
    check the ML server once, stop; exit 0 when all of it worked."""
    import qasync

    scratch = Path(tempfile.mkdtemp(prefix="ecg-self-check-"))
    for name in ("ECG_DATA_DIR", "ECG_CONFIG_DIR", "ECG_LOG_DIR"):
        os.environ[name] = str(scratch / name.lower())
    os.environ["ECG_BIND_PORT"] = "0"
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING)
    app = make_application()
    settings, problem = load_file_settings()
    desktop = DesktopApp(app, settings, config_problem=problem,
                         qsettings=QSettings(str(scratch / "gui.ini"), QSettings.Format.IniFormat))
    desktop.window.show()
    app.processEvents()
    outcome: dict[str, Any] = {}

    async def check() -> None:
        timings: list[str] = []
        mark = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            timings.append(f"{name} {(now - mark) * 1000:.0f} ms")
            mark = now

        outcome["problem"] = await desktop.run(until_ready=True)
        await desktop.window.wait_idle()
        lap("start")
        outcome["callback"] = desktop.services.callback_url
        outcome["health"] = await desktop.window.health.check_once()
        lap("health check")
        outcome["translation"] = desktop.translations.apply("ko") == "ko" and \
            desktop.translations.loaded
        await desktop.stop()
        lap("stop")
        outcome["timings"] = ", ".join(timings)

    try:
        qasync.run(check())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    health = outcome.get("health")
    print(f"window: ok ({desktop.window.windowTitle()})")
    print(f"services: {outcome.get('problem') or 'ok'}")
    print(f"callback server: {outcome.get('callback') or 'not running'}")
    print(f"ML server: {health.status if health else 'not checked'}")
    print(f"Korean translation: {'ok' if outcome.get('translation') else 'missing'}")
    print(f"timings: {outcome.get('timings')}")
    ok = outcome.get("problem") is None and health is not None and outcome.get("translation")
    return 0 if ok else 1
