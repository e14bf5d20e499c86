"""What the use cases count and time."""

from __future__ import annotations

from typing import Protocol

# -- metrics -----------------------------------------------------------------------------


class MetricsSink(Protocol):
    """What the use cases count (``app.metrics.Metrics`` satisfies it)."""

    def inc(self, name: str, amount: float = 1.0, **labels: object) -> None: ...

    def observe(self, name: str, value: float, **labels: object) -> None: ...


class NullMetrics:
    """Counts nothing (a pipeline built without metrics)."""

    def inc(self, name: str, amount: float = 1.0, **labels: object) -> None:
        pass

    def observe(self, name: str, value: float, **labels: object) -> None:
        pass
