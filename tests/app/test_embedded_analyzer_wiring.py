"""With MODEL_SERVER_URL empty the core starts the bundled analyzer, points dispatch at it and,
when it dies, restarts it and reconciles the jobs it had."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.bootstrap import build_core
from ecg_desktop.domain import ErrorCode, JobStatus, Stage
from tests.media import make_speech_video

TURNS = [
    ("en-us", "Good morning everyone. Let us look at the plan for the week.", 0.0),
    ("en-us+f3", "Thanks. The first item is the budget, and then the schedule.", 0.0),
]


@pytest.mark.slow
async def test_process_on_a_fresh_machine_with_nothing_configured(
    tmp_settings: Any, tmp_path: Path
) -> None:
    video = make_speech_video(tmp_path / "standup.mp4", TURNS).path
    output = tmp_path / "standup.json"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ecg_desktop",
        "process",
        str(video),
        "-o",
        str(output),
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 240)
    assert child.returncode == 0, out.decode() + err.decode()
    assert "standup.mp4: completed: 2 speaker(s)" in out.decode()
    result = json.loads(output.read_text())
    assert result["metadata"]["model_version"]
    assert all(w["volume_db"] is not None for s in result["segments"] for w in s["words"])


@pytest.mark.slow
async def test_a_dead_analyzer_is_restarted_and_its_jobs_reconciled(
    settings_factory: Any, tmp_path: Path
) -> None:
    # Long enough that the analysis is still running when the kill lands, even when the
    # job is seen analysing late (a fast analyzer's callbacks can overtake the dispatch).
    video = make_speech_video(tmp_path / "plan.mp4", TURNS * 4).path
    settings = settings_factory(bind_port=0, callback_watchdog_s=3600)
    assert not settings.webhook_secret_key  # the core makes one the analyzer shares
    core = await build_core(settings)
    try:
        analyzer = core.analyzer
        assert analyzer is not None and analyzer.pid is not None
        first_url = core.ml_client.base_url
        await core.start_server()
        job = await core.pipeline.submit_file(video, "en")
        for _ in range(1200):
            current = await core.store.get(job.job_id)
            if current.stage is Stage.ANALYZING or current.status.is_terminal:
                break
            await asyncio.sleep(0.05)
        assert current.stage is Stage.ANALYZING, current
        os.kill(analyzer.pid, signal.SIGKILL)

        done = await core.pipeline.wait_for(job.job_id, timeout_s=120)

        assert analyzer.restarts == 1
        assert core.ml_client.base_url == analyzer.url != first_url
        # Reconciled, never left waiting nor canceled: the restarted analyzer either reports
        # the interrupted job failed or has no record of it (CALLBACK_LOST).
        assert done.status is JobStatus.FAILED and done.error_message
        assert done.error_code in (ErrorCode.PROCESSING_ERROR, ErrorCode.CALLBACK_LOST)
        assert (await core.health.check_now()).healthy
        assert (
            core.metrics.value("callbacks_total", result="rejected", reason="signature_missing")
            == 0
        )
        retried = await core.pipeline.retry(job.job_id)
        again = await core.pipeline.wait_for(retried.job_id, timeout_s=180)
        assert again.status is JobStatus.COMPLETED, again.error_message
    finally:
        await core.close()
