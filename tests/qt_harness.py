"""What the Qt test folders share (imported by tests/gui and tests/review conftests).

Python's cycle collector runs on the GUI thread only while a Qt test runs, as in the app
(``ecg_desktop.gui.gui_thread_gc``): otherwise a worker thread of the test (an executor
thread, aiosqlite's thread) may collect a finished test's closed qasync loop, whose timer
object then dies off the GUI thread and leaves a dangling timer that crashes a later test's
event loop. Collection is handed back to CPython only once the test's fixtures are gone
(pytest drops them at the very end of the test protocol) and their garbage has been
collected on this thread, so tests that do not use Qt run as usual.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from ecg_desktop.gui.gui_thread_gc import GuiThreadCollector, collect_on_gui_thread


@pytest.fixture(autouse=True)
def gui_thread_gc(qapp: QApplication) -> Iterator[GuiThreadCollector]:
    yield collect_on_gui_thread(qapp)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[
        None, Any, Any]:
    try:
        return (yield)
    finally:
        app = QCoreApplication.instance()
        collector = app.findChild(GuiThreadCollector, "guiThreadCollector") if app else None
        if collector is not None and collector.active:
            collector.stop()
