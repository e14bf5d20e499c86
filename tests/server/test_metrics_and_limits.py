"""``Metrics`` rendering and the sliding-window ``RateLimiter``, with a controlled clock."""

from __future__ import annotations

import pytest

from ecg_desktop.app.metrics import Metrics
from ecg_desktop.server.ratelimit import RateLimiter


def test_counters_render_with_escaped_labels() -> None:
    metrics = Metrics()
    metrics.inc("jobs_total", outcome="failed", error_code="DOWNLOAD_ERROR")
    metrics.inc("jobs_total", outcome="failed", error_code="DOWNLOAD_ERROR")
    metrics.inc("callbacks_total", result="rejected", reason='say "no"\nplease')

    text = metrics.render()

    assert "# TYPE jobs_total counter" in text
    assert 'jobs_total{error_code="DOWNLOAD_ERROR",outcome="failed"} 2.0' in text
    assert 'callbacks_total{reason="say \\"no\\"\\nplease",result="rejected"} 1.0' in text
    assert metrics.value("jobs_total", outcome="failed", error_code="DOWNLOAD_ERROR") == 2
    assert metrics.total("jobs_total") == 2


def test_histogram_buckets_are_cumulative() -> None:
    metrics = Metrics()
    for seconds in (0.5, 4, 45, 45, 20_000):
        metrics.observe("job_processing_seconds", seconds)

    lines = metrics.render().splitlines()

    assert 'job_processing_seconds_bucket{le="1.0"} 1.0' in lines
    assert 'job_processing_seconds_bucket{le="5.0"} 2.0' in lines
    assert 'job_processing_seconds_bucket{le="60.0"} 4.0' in lines
    assert 'job_processing_seconds_bucket{le="14400.0"} 4.0' in lines
    assert 'job_processing_seconds_bucket{le="+Inf"} 5.0' in lines
    assert "job_processing_seconds_count 5.0" in lines
    assert "job_processing_seconds_sum 20094.5" in lines


def test_an_undeclared_name_is_ignored_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    metrics.inc("typo_total")
    metrics.inc("typo_total")
    assert "typo_total" not in metrics.render()
    assert caplog.text.count("typo_total") == 1  # said once


def test_a_left_out_label_counts_as_empty() -> None:
    metrics = Metrics()
    metrics.inc("ml_requests_total", outcome="sent")
    assert metrics.value("ml_requests_total", outcome="sent", error_code="") == 1


def test_rate_limiter_is_a_sliding_window_per_client() -> None:
    now = [1000.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])

    assert limiter.hit("a") is None
    now[0] += 10
    assert limiter.hit("a") is None
    assert limiter.hit("b") is None  # another address has its own window
    now[0] += 5
    wait = limiter.hit("a")
    assert wait == 45  # the first hit leaves the window at 1060
    assert RateLimiter.retry_after_header(wait) == "45"
    now[0] += 45
    assert limiter.hit("a") is None
    assert limiter.hit("a") is not None


def test_rate_limiter_forgets_idle_clients() -> None:
    now = [0.0]
    limiter = RateLimiter(1, 60, clock=lambda: now[0])
    for client in range(100):
        limiter.hit(f"10.0.0.{client}")
    now[0] += 120
    limiter.hit("10.0.1.1")
    assert len(limiter._hits) == 1
