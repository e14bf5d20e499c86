"""`ecg-desktop process` as a user runs it: a real subprocess, the real store and storage, the
protocol peer as the ML server, callbacks into the command's own embedded server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.app.conftest import SECRET
from tests.app.peer import ProtocolPeer
from tests.media import make_silent_video


async def run_process(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ecg_desktop",
        "process",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


def environment(peer: ProtocolPeer, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MODEL_SERVER_URL=peer.url,
        WEBHOOK_SECRET_KEY=SECRET,
        ECG_ML_RETRY_DELAYS="0.05,0.1",
        **extra,
    )
    return env


async def test_process_a_video_against_the_s3_compatible_server(
    tmp_settings: Any, peer: ProtocolPeer, s3_service: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = make_silent_video(tmp_path / "interview.mp4", duration_s=1.0)
    output = tmp_path / "out" / "result.json"
    env = environment(
        peer,
        S3_BUCKET_NAME=s3_bucket,
        S3_ENDPOINT_URL=s3_service.endpoint_url,
        AWS_ACCESS_KEY_ID=s3_service.access_key,
        AWS_SECRET_ACCESS_KEY=s3_service.secret_key,
        AWS_REGION=s3_service.region,
    )
    code, out, err = await run_process(env, str(video), "--language", "en", "-o", str(output))

    assert code == 0, err
    assert "interview.mp4: completed: 2 speaker(s), 2 segment(s), 3 word(s)" in out
    assert "1 of 1 file(s) completed" in out
    result = json.loads(output.read_text())
    assert [s["speaker"]["speaker_id"] for s in result["segments"]] == ["SPEAKER_00", "SPEAKER_01"]
    assert result["segments"][0]["words"][0]["word"] == "hello"
    (request,) = [j.request for j in peer.jobs.values()]
    assert request["language"] == "en"
    assert request["video_url"].startswith(s3_service.endpoint_url)


async def test_a_refused_file_makes_the_exit_code_non_zero_and_the_others_still_run(
    tmp_settings: Any, peer: ProtocolPeer, tmp_path: Path
) -> None:
    good = make_silent_video(tmp_path / "good.mp4", duration_s=1.0)
    missing = tmp_path / "missing.mp4"
    script = tmp_path / "script.txt"
    script.write_text("hello there. hi.", encoding="utf-8")
    output = tmp_path / "all.json"
    code, out, err = await run_process(
        environment(peer),
        str(good),
        str(missing),
        "--transcript",
        str(script),
        "--output",
        str(output),
    )
    assert code == 1, err
    assert "missing.mp4: refused: missing.mp4: the file does not exist" in out
    assert "good.mp4: completed" in out
    document = json.loads(output.read_text())
    statuses = {Path(e["file"]).name: e["status"] for e in document["jobs"]}
    assert statuses == {"good.mp4": "completed", "missing.mp4": "refused"}
    (request,) = [j.request for j in peer.jobs.values()]
    assert request["transcript"] == "hello there. hi."


async def test_an_ml_failure_is_reported_with_its_code(
    tmp_settings: Any, peer: ProtocolPeer, tmp_path: Path
) -> None:
    peer.dispatch_statuses = [422]
    video = make_silent_video(tmp_path / "clip.mp4", duration_s=1.0)
    code, out, _ = await run_process(environment(peer), str(video))
    assert code == 1
    assert "clip.mp4: failed (ML_SERVER_ERROR)" in out and "HTTP 422" in out


async def test_an_unknown_language_is_a_usage_error(
    tmp_settings: Any, peer: ProtocolPeer, tmp_path: Path
) -> None:
    video = make_silent_video(tmp_path / "clip.mp4", duration_s=1.0)
    code, _, err = await run_process(environment(peer), str(video), "--language", "klingon")
    assert code == 2
    assert "--language: unknown language 'klingon'" in err
    assert peer.attempts == []
