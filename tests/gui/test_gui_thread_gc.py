"""Qt objects that Python frees through its cycle collector die on the GUI thread, even when a
worker thread is the one allocating (as ``asyncio.to_thread`` jobs and aiosqlite do)."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ecg_desktop.gui import gui_thread_gc
from ecg_desktop.gui.gui_thread_gc import GuiThreadCollector, collect_on_gui_thread


class Holder:
    """A Qt object with a running timer, kept in a reference cycle; notes where it dies."""

    def __init__(self, deaths: list[str]) -> None:
        self.timer = QTimer()
        self.timer.start(60_000)
        self.deaths = deaths
        self.me = self

    def __del__(self) -> None:
        self.deaths.append(threading.current_thread().name)


def allocate_in_a_worker() -> list[list[int]]:
    """What a worker thread does all the time: allocate (here far past the youngest
    generation's threshold, so that CPython would collect in that thread)."""
    kept: list[list[int]] = []
    worker = threading.Thread(target=lambda: kept.extend([] for _ in range(20_000)),
                              name="worker")
    worker.start()
    worker.join()
    return kept


def test_a_cycle_holding_a_qt_object_is_collected_on_the_gui_thread(
    qapp: QApplication, qtbot: QtBot,
) -> None:
    collect_on_gui_thread(qapp)
    gc.collect()
    deaths: list[str] = []
    Holder(deaths)

    kept = allocate_in_a_worker()

    assert deaths == [], "the worker thread collected the cycle"
    qtbot.waitUntil(lambda: deaths != [], timeout=5000)
    assert deaths == [threading.main_thread().name]
    assert len(kept) == 20_000


def test_the_app_survives_a_timer_object_freed_while_a_worker_allocates() -> None:
    """Without collection on the GUI thread the worker frees the timer off its thread, Qt
    cannot unregister it, and its next tick is delivered to freed memory: a crash."""
    script = textwrap.dedent("""
        import gc, threading
        from PySide6.QtCore import QEventLoop, QTimer
        from ecg_desktop.gui.app import make_application

        app = make_application(["check"])
        class Holder:
            def __init__(self):
                self.timer = QTimer()
                self.timer.start(50)
                self.me = self
        gc.collect()
        Holder()
        kept = []
        worker = threading.Thread(target=lambda: kept.extend([] for _ in range(20_000)))
        worker.start()
        worker.join()
        loop = QEventLoop()
        QTimer.singleShot(400, loop.quit)
        loop.exec()
        print("alive")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "alive"
    assert "Timers cannot be stopped from another thread" not in done.stderr


def test_collection_goes_back_to_python_when_stopped(qapp: QApplication) -> None:
    collector = collect_on_gui_thread(qapp)
    assert not gc.isenabled()
    collector.stop()
    try:
        assert gc.isenabled() and not collector.active
    finally:
        collector.start()  # the harness stops it again after the test



def test_generations_are_collected_as_cpython_would_and_full_collections_spaced_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collected: list[int] = []
    counts = [(700, 0, 0), (701, 3, 0), (701, 11, 0), (701, 11, 11), (701, 11, 11)]

    def collect(generation: int) -> int:
        collected.append(generation)
        return 0

    fake_gc = SimpleNamespace(get_threshold=lambda: (700, 10, 10),
                              get_count=lambda: counts.pop(0), collect=collect)
    monkeypatch.setattr(gui_thread_gc, "gc", fake_gc)
    collector = GuiThreadCollector()

    for _ in range(5):
        collector.collect_if_due()

    # nothing under the threshold; then gen 0, gen 1, a full one, and right after it gen 1
    assert collected == [0, 1, 2, 1]
