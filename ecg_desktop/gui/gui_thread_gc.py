"""Python's cycle collector, run on the GUI thread only.

CPython collects reference cycles in whichever thread happens to allocate when a generation
fills up. In this app that is often a worker thread: ``asyncio.to_thread`` jobs (qasync's
executor threads), aiosqlite's connection thread, the reader of the analyzer's output. When
a cycle holds the last reference to a Qt object Python owns (a parentless QObject such as
the asyncio loop's own timer object, a dialog, a model), Qt's destructor then runs on that
worker thread. A QObject destroyed off its thread cannot unregister its timers (Qt warns
"QObject::~QObject: Timers cannot be stopped from another thread") and the GUI thread's
event dispatcher later delivers a timer event to freed memory: a segmentation fault inside
the event loop. Widgets must not be destroyed off the GUI thread at all.

So while the window runs, automatic collection is off and a timer on the GUI thread collects
instead, with the generational thresholds CPython itself uses. Other threads never collect.
A full collection walks every object (about 0.1 s per million) and blocks the window, so it
runs at most once per hundred times its own last duration (CPython spaces them out by heap
growth instead, which Python code cannot see cheaply).
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 250
FULL_COLLECTION_SHARE = 0.01  # of the time, at most, spent in full collections


class GuiThreadCollector(QObject):
    """Collects cycles on the thread it lives in (the GUI thread) while started."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.setObjectName("guiThreadCollector")
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_if_due)
        self._automatic_before: bool | None = None
        self._next_full = 0.0  # monotonic time before which a full collection waits

    @property
    def active(self) -> bool:
        return self._automatic_before is not None

    def start(self) -> None:
        if self._automatic_before is None:
            self._automatic_before = gc.isenabled()
            gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect everything now, on this thread, and give collection back to CPython."""
        self._timer.stop()
        if self._automatic_before is None:
            return
        gc.collect()
        if self._automatic_before:
            gc.enable()
        self._automatic_before = None

    def collect_if_due(self) -> int:
        """What CPython would do at this point: once the youngest generation is over its
        threshold, collect the oldest generation whose count is over its own (a full
        collection only if the last one is long enough ago)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        if counts[0] <= thresholds[0]:
            return 0
        generation = next(g for g in (2, 1, 0) if g == 0 or counts[g] > thresholds[g])
        if generation == 2 and time.monotonic() < self._next_full:
            generation = 1
        if generation < 2:
            return gc.collect(generation)
        started = time.monotonic()
        found = gc.collect(2)
        ended = time.monotonic()
        self._next_full = ended + (ended - started) / FULL_COLLECTION_SHARE
        return found


def collect_on_gui_thread(app: QCoreApplication) -> GuiThreadCollector:
    """Start (once per application) collecting cycles on the GUI thread only."""
    collector = app.findChild(GuiThreadCollector, "guiThreadCollector")
    if collector is None:
        collector = GuiThreadCollector(app)
    collector.start()
    return collector
