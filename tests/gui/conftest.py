"""GUI fixtures: the qasync loop the app runs on, a person answering the window's
questions, and a window over a real core (real SQLite store, local storage behind the real
embedded server, an ML server speaking the real protocol over loopback HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ecg_desktop.domain import Job
from ecg_desktop.gui.adding import Refused
from ecg_desktop.gui.prompts import Prompts
from tests.qt_harness import gui_thread_gc, pytest_runtest_protocol  # noqa: F401

T = TypeVar("T")


class Runner:
    """Runs coroutines on a qasync loop, so Qt events and asyncio tasks interleave as they
    do in the app.

    In the app the loop runs from start to exit. Here it stops between steps of a test, and
    Qt may still deliver the loop's queued callbacks then (qasync's ``run_until_complete``
    processes events once more after it stops, and pytest-qt processes events between test
    phases). So the loop stays registered as the running loop between steps, as it would be
    in the app, and steps use ``run_forever`` rather than ``run_until_complete``.
    """

    def __init__(self, app: QApplication) -> None:
        self.loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(self.loop)
        asyncio.events._set_running_loop(self.loop)

    def __call__(self, coro: Awaitable[T], timeout: float = 30.0) -> T:
        future = asyncio.ensure_future(asyncio.wait_for(coro, timeout), loop=self.loop)
        future.add_done_callback(lambda _: self.loop.stop())
        try:
            self.loop.run_forever()
        finally:
            asyncio.events._set_running_loop(self.loop)
        return future.result()

    def until(self, condition: Callable[[], bool], timeout: float = 30.0,
              step: float = 0.02) -> None:
        async def wait() -> None:
            while not condition():  # noqa: ASYNC110 - polls what the widgets show
                await asyncio.sleep(step)

        self(wait(), timeout)

    def close(self) -> None:
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self(asyncio.gather(*pending, return_exceptions=True))
        asyncio.events._set_running_loop(None)
        self.loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def run(qapp: QApplication) -> Iterator[Runner]:
    runner = Runner(qapp)
    yield runner
    runner.close()


class AnsweringPrompts(Prompts):
    """Answers the window's questions as a person would, and remembers what was asked."""

    def __init__(self) -> None:
        super().__init__(None)
        self.refused: list[Refused] = []
        self.duplicates: list[Path] = []
        self.errors: list[tuple[str, str]] = []
        self.infos: list[tuple[str, str, str]] = []
        self.add_duplicates = False
        self.confirm_deletes = True
        self.save_path = ""
        self.save_filters: list[str] = []
        self.suggested = ""  # the path the save dialog proposed
        self.refusal_summaries = 0  # how many times refusals were shown
        self.exported: list[list[Path]] = []

    def show_refused(self, refused: Sequence[Refused]) -> None:
        self.refused += refused
        self.refusal_summaries += 1

    def show_exported(self, written: Sequence[Path]) -> None:
        self.exported.append(list(written))

    def confirm_duplicates(self, paths: Sequence[Path]) -> bool:
        self.duplicates += paths
        return self.add_duplicates

    def confirm_delete(self, jobs: Sequence[Job]) -> bool:
        return self.confirm_deletes

    def ask_save_path(self, title: str, suggested: str, filters: Sequence[str]) -> tuple[str, str]:
        self.save_filters = list(filters)
        self.suggested = suggested
        return self.save_path, filters[0]

    def show_error(self, title: str, text: str) -> None:
        self.errors.append((title, text))

    def show_info(self, title: str, text: str, details: str = "") -> None:
        self.infos.append((title, text, details))


@pytest.fixture
def prompts() -> AnsweringPrompts:
    return AnsweringPrompts()


@pytest.fixture
def qsettings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


SECRET = "gui-test-webhook-secret"


@pytest.fixture
def peer(run: Runner) -> Iterator[Any]:
    """An ML server speaking the real protocol over loopback (stands in for a GPU box)."""
    from tests.app.peer import ProtocolPeer

    server = ProtocolPeer(SECRET)
    run(server.start())
    yield server
    run(server.stop())


@pytest.fixture
def start_desktop(
    run: Runner,
    qapp: QApplication,
    prompts: AnsweringPrompts,
    qsettings: QSettings,
    settings_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Any]]:
    """``start_desktop(**env)``: the app as ``ecg-desktop`` starts it (window shown first,
    then the core and the embedded server on a free port), with ``env`` as its environment.
    Settings come from the environment and the config file under ``tmp_path``, as in life."""
    from ecg_desktop.gui.app import DesktopApp, load_file_settings

    settings_factory()  # isolates the data, config and log folders and the keyring
    started: list[Any] = []

    def start(**env: str) -> Any:
        monkeypatch.setenv("ECG_BIND_PORT", "0")
        monkeypatch.setenv("WEBHOOK_SECRET_KEY", SECRET)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings, problem = load_file_settings()
        desktop = DesktopApp(qapp, settings, config_problem=problem, qsettings=qsettings)
        desktop.window.prompts = prompts
        desktop.window.show()
        started.append(desktop)
        run(desktop.run(until_ready=True), timeout=60)
        run(desktop.window.wait_idle())
        return desktop

    yield start
    for desktop in started:
        run(desktop.stop(), timeout=60)
        desktop.window.close()
        desktop.window.deleteLater()
