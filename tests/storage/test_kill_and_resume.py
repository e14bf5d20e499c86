"""The app killed (SIGKILL) at about half of a multipart upload resumes after a restart,
sends at most one part again, and the object is byte-for-byte the file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from .conftest import PART, sha256_of_object, write_random_file
from .uploader import load_state

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = "videos/tester/20260101_120000_0badf00d_long.mp4"
PARTS = 8


async def start_uploader(
    state: Path, video: Path, env: dict[str, str]
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.storage.uploader", str(state), str(video), KEY,
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
    )


async def next_event(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    assert line, f"the uploader exited early with code {await process.wait()}"
    event: dict[str, Any] = json.loads(line)
    return event


async def test_a_killed_upload_resumes_sending_at_most_one_part_again(
    s3_service: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "long.mp4"
    digest = write_random_file(video, PARTS * PART - 4321)
    state_file = tmp_path / "upload-state.json"
    env = {
        "ECG_TEST_S3_BUCKET": s3_bucket,
        "ECG_TEST_S3_ENDPOINT": s3_service.endpoint_url,
        "ECG_TEST_S3_ACCESS_KEY": s3_service.access_key,
        "ECG_TEST_S3_SECRET_KEY": s3_service.secret_key,
        "ECG_TEST_S3_REGION": s3_service.region,
        "ECG_TEST_PART_SIZE": str(PART),
        "ECG_TEST_CONCURRENCY": "2",
    }

    first = await start_uploader(state_file, video, {**env, "ECG_TEST_PAUSE_AFTER_PART": "0.3"})
    while len((await next_event(first)).get("recorded", ())) < PARTS // 2:
        pass
    first.kill()  # SIGKILL: no cleanup, no last state write
    assert await first.wait() == -signal.SIGKILL

    saved = load_state(state_file)
    assert saved is not None and saved.upload_id
    assert PARTS // 2 <= len(saved.parts) < PARTS
    on_server = {
        p["PartNumber"]
        for p in s3_service.admin_client.list_parts(
            Bucket=s3_bucket, Key=KEY, UploadId=saved.upload_id
        ).get("Parts", [])
    }

    second = await start_uploader(state_file, video, env)
    sent: list[int] = []
    while not (event := await next_event(second)).get("done"):
        if "sending" in event:
            sent.append(event["sending"])
    assert await second.wait() == 0

    sent_again = [n for n in sent if n in on_server]
    assert len(sent_again) <= 1
    assert not set(saved.parts) & set(sent)  # recorded parts are never sent twice
    assert set(sent) | on_server == set(range(1, PARTS + 1))
    assert sha256_of_object(s3_service.admin_client, s3_bucket, KEY) == digest
    uploads = s3_service.admin_client.list_multipart_uploads(Bucket=s3_bucket)
    assert uploads.get("Uploads", []) == []
