"""Upload progress for the window: the storage adapter's byte counts become ``UploadProgress``
events (bytes, speed, time left), at most every 250 ms."""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable

from ecg_desktop.domain import UploadProgress

PROGRESS_INTERVAL_S = 0.25
SPEED_WINDOW_S = 5.0


class UploadProgressReporter:
    """Turns the storage adapter's ``(bytes_done, bytes_total)`` calls into ``UploadProgress``
    events, at most one per ``interval`` (the last one, 100 %, always goes out). Speed is
    measured over the last few seconds, so a resumed upload does not count the parts it
    skipped."""

    def __init__(
        self,
        job_id: uuid.UUID,
        publish: Callable[[UploadProgress], None],
        clock: Callable[[], float],
        interval: float = PROGRESS_INTERVAL_S,
    ) -> None:
        self._job_id = job_id
        self._publish = publish
        self._clock = clock
        self._interval = interval
        self._last_sent: float | None = None
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._latest: tuple[int, int] | None = None
        self._sent_final = False

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > SPEED_WINDOW_S:
            self._samples.popleft()
        self._latest = (done, total)
        final = total > 0 and done >= total
        if final and self._sent_final:
            return
        if not final and self._last_sent is not None and now - self._last_sent < self._interval:
            return
        self._send(now, done, total)
        self._sent_final = final

    def finish(self) -> None:
        if self._latest is not None and not self._sent_final:
            _, total = self._latest
            self._send(self._clock(), total, total)
            self._sent_final = True

    def _send(self, now: float, done: int, total: int) -> None:
        self._last_sent = now
        first_t, first_done = self._samples[0]
        elapsed = now - first_t
        speed = (done - first_done) / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / speed if speed > 0 else None
        self._publish(UploadProgress(self._job_id, done, total, max(speed, 0.0), eta))
