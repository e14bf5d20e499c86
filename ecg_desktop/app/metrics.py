"""In-memory counters and histograms, rendered in the Prometheus text format.

The use cases count what they do (``metrics.inc("ml_requests_total", outcome="sent")``,
``metrics.observe("job_processing_seconds", 12.5)``); ``GET /metrics`` renders them. Names not
declared in ``DECLARED`` are still counted (as untyped counters) so a typo never raises in the
middle of a job, but they get no HELP line.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

LabelKey = tuple[tuple[str, str], ...]

DEFAULT_BUCKETS: tuple[float, ...] = (
    1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400,
)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: str  # "counter" or "histogram"
    help: str
    buckets: tuple[float, ...] = ()


DECLARED: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("ml_requests_total", "counter", "Requests sent to the ML server, by outcome."),
        MetricSpec("jobs_total", "counter", "Jobs that ended, by outcome and error code."),
        MetricSpec(
            "job_processing_seconds",
            "histogram",
            "Seconds from dispatch to the terminal callback.",
            DEFAULT_BUCKETS,
        ),
        MetricSpec(
            "callbacks_total", "counter", "ML server callbacks, accepted or rejected, by reason."
        ),
        MetricSpec("http_requests_total", "counter", "HTTP requests served, by route and status."),
    )
}


@dataclass(slots=True)
class _Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(self.buckets, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += value
        self.count += 1


class Metrics:
    """Thread-safe: the pipeline may count from worker threads."""

    def __init__(self, declared: dict[str, MetricSpec] | None = None) -> None:
        self._declared = dict(DECLARED if declared is None else declared)
        self._counters: dict[str, dict[LabelKey, float]] = {}
        self._histograms: dict[str, dict[LabelKey, _Histogram]] = {}
        self._lock = threading.Lock()

    def inc(self, name: str, amount: float = 1.0, **labels: object) -> None:
        key = _label_key(labels)
        with self._lock:
            series = self._counters.setdefault(name, {})
            series[key] = series.get(key, 0.0) + amount

    def observe(self, name: str, value: float, **labels: object) -> None:
        if not math.isfinite(value):
            return
        key = _label_key(labels)
        spec = self._declared.get(name)
        buckets = spec.buckets if spec and spec.buckets else DEFAULT_BUCKETS
        with self._lock:
            series = self._histograms.setdefault(name, {})
            histogram = series.get(key)
            if histogram is None:
                histogram = series[key] = _Histogram(buckets)
            histogram.observe(value)

    def value(self, name: str, **labels: object) -> float:
        """A counter's current value (0 when never counted); for tests and the status bar."""
        with self._lock:
            return self._counters.get(name, {}).get(_label_key(labels), 0.0)

    def total(self, name: str) -> float:
        """The sum of a counter over all its label sets."""
        with self._lock:
            return sum(self._counters.get(name, {}).values())

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []
        with self._lock:
            names = sorted(set(self._declared) | set(self._counters) | set(self._histograms))
            for name in names:
                spec = self._declared.get(name)
                if name in self._histograms or (spec and spec.kind == "histogram"):
                    lines.extend(self._render_histogram(name, spec))
                else:
                    lines.extend(self._render_counter(name, spec))
        return "\n".join(lines) + "\n"

    def _render_counter(self, name: str, spec: MetricSpec | None) -> Iterable[str]:
        if spec:
            yield f"# HELP {name} {spec.help}"
        yield f"# TYPE {name} {'counter' if spec else 'untyped'}"
        for key, value in sorted(self._counters.get(name, {}).items()):
            yield f"{name}{_format_labels(key)} {_format_number(value)}"

    def _render_histogram(self, name: str, spec: MetricSpec | None) -> Iterable[str]:
        if spec:
            yield f"# HELP {name} {spec.help}"
        yield f"# TYPE {name} histogram"
        for key, histogram in sorted(self._histograms.get(name, {}).items()):
            cumulative = 0
            for bound, count in zip(histogram.buckets, histogram.counts, strict=True):
                cumulative += count
                le = (*key, ("le", _format_number(bound)))
                yield f"{name}_bucket{_format_labels(le)} {cumulative}"
            inf = (*key, ("le", "+Inf"))
            yield f"{name}_bucket{_format_labels(inf)} {histogram.count}"
            yield f"{name}_sum{_format_labels(key)} {_format_number(histogram.total)}"
            yield f"{name}_count{_format_labels(key)} {histogram.count}"


def _label_key(labels: dict[str, object]) -> LabelKey:
    return tuple(sorted((k, "" if v is None else str(v)) for k, v in labels.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_labels(key: Sequence[tuple[str, str]]) -> str:
    if not key:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in key) + "}"


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
