"""Upload progress reaches subscribers at most every 250 ms, with speed and ETA."""

from __future__ import annotations

import itertools
import uuid

from ecg_desktop.app.upload_progress import UploadProgressReporter
from ecg_desktop.domain import UploadProgress


def test_reports_are_throttled_to_one_per_250_ms_and_the_last_always_goes_out() -> None:
    now = [0.0]
    sent: list[UploadProgress] = []
    reporter = UploadProgressReporter(uuid.uuid4(), sent.append, lambda: now[0])
    total = 1000 * 1_000_000
    for step in range(1, 1001):  # 1 MB every 10 ms: 100 MB/s for 10 s
        now[0] = step * 0.01
        reporter(step * 1_000_000, total)
    reporter.finish()

    times = [round(p.bytes_done / 1_000_000) * 0.01 for p in sent]
    assert all(b - a >= 0.25 - 1e-9 for a, b in itertools.pairwise(times[:-1]))
    assert 38 <= len(sent) <= 42
    assert sent[-1].bytes_done == sent[-1].bytes_total == total
    middle = sent[len(sent) // 2]
    assert abs(middle.speed_bps - 100_000_000) < 2_000_000
    assert middle.eta_s is not None and abs(middle.eta_s - (total - middle.bytes_done) / 1e8) < 0.2


def test_a_resumed_upload_does_not_count_skipped_parts_as_speed() -> None:
    now = [0.0]
    sent: list[UploadProgress] = []
    reporter = UploadProgressReporter(uuid.uuid4(), sent.append, lambda: now[0])
    reporter(500_000_000, 1_000_000_000)  # half was already on the server
    now[0] = 1.0
    reporter(510_000_000, 1_000_000_000)
    assert abs(sent[-1].speed_bps - 10_000_000) < 1
