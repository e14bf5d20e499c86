"""Done-when check: a generated two-speaker video goes through `ecg-desktop process` against
the S3-compatible server and the project's reference analyzer (`ecg-desktop ml-server`, the
real ML-protocol peer), and comes back completed with speakers and measured word features."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.mlclient.embedded import READY_PREFIX
from tests.app.cores import s3_settings
from tests.media import make_speech_video

SECRET = "reference-analyzer-secret"
TURNS = [
    ("en-us", "The meeting starts now. Please take a seat.", 0.0),
    ("en-us+f3", "Thank you. I have the numbers for this quarter.", 0.0),
]


@pytest.mark.slow
async def test_process_with_the_reference_analyzer_and_s3(
    tmp_settings: Any, s3_service: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = make_speech_video(tmp_path / "meeting.mp4", TURNS).path
    env = dict(os.environ)
    env.update(WEBHOOK_SECRET_KEY=SECRET)
    with (tmp_path / "analyzer.log").open("wb") as log:
        analyzer = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ecg_desktop", "ml-server", "--host", "127.0.0.1",
            "--port", "0", "--results-dir", str(tmp_path / "results"),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=log,
        )
    try:
        assert analyzer.stdout is not None
        ready = (await asyncio.wait_for(analyzer.stdout.readline(), 120)).decode()
        assert ready.startswith(READY_PREFIX), (tmp_path / "analyzer.log").read_text()
        url = ready.removeprefix(READY_PREFIX).strip()
        s3 = s3_settings(s3_service, s3_bucket)
        env.update(
            MODEL_SERVER_URL=url,
            S3_BUCKET_NAME=s3["s3_bucket_name"],
            S3_ENDPOINT_URL=s3["s3_endpoint_url"],
            AWS_ACCESS_KEY_ID=s3["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=s3["aws_secret_access_key"],
            AWS_REGION=s3["aws_region"],
        )
        output = tmp_path / "result.json"
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ecg_desktop",
            "process",
            str(video),
            "--language",
            "en",
            "--output",
            str(output),
            "--max-speakers",
            "2",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(child.communicate(), 240)
    finally:
        analyzer.terminate()
        await analyzer.wait()

    assert child.returncode == 0, out.decode() + err.decode()
    assert "meeting.mp4: completed:" in out.decode()
    result = json.loads(output.read_text())
    speakers = {s["speaker"]["speaker_id"] for s in result["segments"]}
    assert len(speakers) == 2
    words = [w for s in result["segments"] for w in s["words"]]
    assert words and all(w["volume_db"] is not None and w["volume_db"] <= 0 for w in words)
    assert any(w["pitch_hz"] for w in words)
