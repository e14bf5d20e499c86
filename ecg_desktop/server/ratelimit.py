"""A sliding-window rate limit per client address (the seed's ``5/minute`` on request-process)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most ``limit`` hits per ``window_s`` for each key; memory bounded by live keys."""

    def __init__(
        self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._last_sweep = clock()

    def hit(self, key: str) -> float | None:
        """Record a hit; ``None`` when allowed, else the seconds until the next one is."""
        now = self._clock()
        self._sweep(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self._window_s:
            hits.popleft()
        if len(hits) >= self._limit:
            return max(hits[0] + self._window_s - now, 0.0)
        hits.append(now)
        return None

    @staticmethod
    def retry_after_header(wait_s: float) -> str:
        return str(max(1, math.ceil(wait_s)))

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < self._window_s:
            return
        self._last_sweep = now
        horizon = now - self._window_s
        stale = [k for k, hits in self._hits.items() if not hits or hits[-1] <= horizon]
        for key in stale:
            del self._hits[key]
