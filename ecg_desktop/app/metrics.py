"""The app's Prometheus metrics, kept by ``prometheus_client``.

The use cases count what they do (``metrics.inc("ml_requests_total", outcome="sent")``,
``metrics.observe("job_processing_seconds", 12.5)``); ``GET /metrics`` renders them with the
process's own metrics (CPU, memory, open files, garbage collection) that the library adds.
Each ``Metrics`` has its own registry, so tests and several servers in one process do not
share counts. Only the metrics in ``DECLARED`` exist: a label left out is counted as ``""``,
and a name that is not declared is logged once and ignored, so a typo never raises in the
middle of a job.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client import disable_created_metrics as _disable_created_metrics

logger = logging.getLogger(__name__)

_disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: unread

DEFAULT_BUCKETS: tuple[float, ...] = (
    1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400,
)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: str  # "counter" or "histogram"
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


DECLARED: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("ml_requests_total", "counter", "Requests sent to the ML server, by outcome.",
                   ("outcome", "error_code")),
        MetricSpec("jobs_total", "counter", "Jobs that ended, by outcome and error code.",
                   ("outcome", "error_code")),
        MetricSpec("job_processing_seconds", "histogram",
                   "Seconds from dispatch to the terminal callback.", (), DEFAULT_BUCKETS),
        MetricSpec("callbacks_total", "counter",
                   "ML server callbacks, accepted or rejected, by reason.", ("result", "reason")),
        MetricSpec("http_requests_total", "counter", "HTTP requests served, by route and status.",
                   ("method", "route", "status")),
    )
}


class Metrics:
    """Thread-safe (``prometheus_client`` is): the pipeline may count from worker threads."""

    def __init__(self, declared: Mapping[str, MetricSpec] | None = None) -> None:
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self._specs = dict(DECLARED if declared is None else declared)
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        for spec in self._specs.values():
            if spec.kind == "histogram":
                self._histograms[spec.name] = Histogram(
                    spec.name, spec.help, spec.labels, registry=self.registry,
                    buckets=spec.buckets or DEFAULT_BUCKETS)
            else:
                self._counters[spec.name] = Counter(spec.name, spec.help, spec.labels,
                                                    registry=self.registry)
        self._unknown: set[str] = set()

    def inc(self, name: str, amount: float = 1.0, **labels: object) -> None:
        counter = self._counters.get(name)
        if counter is None:
            self._ignore(name)
            return
        (counter.labels(**self._values(name, labels)) if self._specs[name].labels
         else counter).inc(amount)

    def observe(self, name: str, value: float, **labels: object) -> None:
        histogram = self._histograms.get(name)
        if histogram is None:
            self._ignore(name)
            return
        if not math.isfinite(value):
            return
        (histogram.labels(**self._values(name, labels)) if self._specs[name].labels
         else histogram).observe(value)

    def value(self, name: str, **labels: object) -> float:
        """A counter's current value (0 when never counted); for tests and the status bar."""
        sample = self.registry.get_sample_value(
            name, {k: str(v) for k, v in self._values(name, labels).items()})
        return sample or 0.0

    def total(self, name: str) -> float:
        """The sum of a counter over all its label sets."""
        return sum(
            sample.value
            for metric in self.registry.collect()
            for sample in metric.samples
            if sample.name == name
        )

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        return generate_latest(self.registry).decode()

    def _values(self, name: str, labels: Mapping[str, object]) -> dict[str, str]:
        spec = self._specs.get(name)
        names = spec.labels if spec else tuple(labels)
        return {label: "" if labels.get(label) is None else str(labels[label])
                for label in names}

    def _ignore(self, name: str) -> None:
        if name not in self._unknown:
            self._unknown.add(name)
            logger.warning("metric %r is not declared (app/metrics.py); not counted", name)
