"""The `process` command's progress lines: redrawn in place at most a few times a second on
a terminal, one line per change of state otherwise."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from ecg_desktop.cli.process import FileRun, ProgressDisplay
from ecg_desktop.domain import Job, JobChanged, JobStatus, Stage, UploadProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def uploading_job(path: Path) -> Job:
    return Job(
        job_id=uuid.uuid4(),
        stage=Stage.UPLOADING,
        local_path=str(path.resolve()),
        size_bytes=100_000_000,
    )


def test_a_flood_of_progress_events_redraws_the_block_rarely(tmp_path: Path) -> None:
    path = tmp_path / "talk.mp4"
    out = Terminal()
    file_run = FileRun(path)
    display = ProgressDisplay([file_run], out)
    job = uploading_job(path)
    display.on_event(JobChanged(job))
    for step in range(1, 1001):
        display.on_event(UploadProgress(job.job_id, step * 50_000, 100_000_000, 2e7, 1.0))
    display.redraw(force=True)

    text = out.getvalue()
    assert text.count("\x1b[2K") <= 3  # first draw, maybe one throttled redraw, the forced one
    assert "[############------------]  50%  uploading 50.0 MB of 100.0 MB 20.0 MB/s" in text


def test_plain_output_prints_a_line_per_change_of_stage(tmp_path: Path) -> None:
    path = tmp_path / "talk.mp4"
    out = io.StringIO()
    display = ProgressDisplay([FileRun(path)], out)
    job = uploading_job(path)
    for changed in (Stage.UPLOADING, Stage.UPLOADED, Stage.DISPATCHING):
        job.stage = changed
        display.on_event(JobChanged(job))
        display.redraw(force=True)
    job.status, job.stage, job.progress = JobStatus.COMPLETED, Stage.DONE, 100
    display.on_event(JobChanged(job))
    display.redraw(force=True)
    display.redraw(force=True)  # nothing new: nothing printed

    lines = out.getvalue().splitlines()
    assert "\x1b" not in out.getvalue()
    assert len(lines) == 4
    assert lines[-1].endswith("100%  completed")
