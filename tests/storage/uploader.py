"""An uploader process for the kill-and-resume test: uploads a file with ``S3Storage`` and
persists the resume state to a JSON file after every part, as the app persists it to its job
store. Prints one JSON line per event: ``{"sending": n}`` when part ``n`` starts,
``{"recorded": [...]}`` after the state is saved, ``{"done": true}`` at the end.

``python -m tests.storage.uploader STATE_JSON FILE KEY`` with the server in ``ECG_TEST_S3_*``
environment variables (see ``test_kill_and_resume``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from ecg_desktop.config import Settings
from ecg_desktop.domain import UploadState
from ecg_desktop.storage import S3Storage


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def load_state(path: Path) -> UploadState | None:
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    return UploadState(
        upload_id=raw["upload_id"],
        part_size=raw["part_size"],
        file_size=raw["file_size"],
        file_mtime_ns=raw["file_mtime_ns"],
        parts={int(n): etag for n, etag in raw["parts"].items()},
    )


def save_state(path: Path, state: UploadState) -> None:
    raw = {
        "upload_id": state.upload_id,
        "part_size": state.part_size,
        "file_size": state.file_size,
        "file_mtime_ns": state.file_mtime_ns,
        "parts": {str(n): etag for n, etag in state.parts.items()},
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(raw))
    os.replace(temporary, path)


async def main(state_path: Path, video: Path, key: str) -> None:
    env = os.environ
    settings = Settings(
        s3_bucket_name=env["ECG_TEST_S3_BUCKET"],
        s3_endpoint_url=env["ECG_TEST_S3_ENDPOINT"],
        aws_access_key_id=env["ECG_TEST_S3_ACCESS_KEY"],
        aws_secret_access_key=env["ECG_TEST_S3_SECRET_KEY"],
        aws_region=env["ECG_TEST_S3_REGION"],
        upload_part_size=int(env["ECG_TEST_PART_SIZE"]),
        upload_concurrency=int(env["ECG_TEST_CONCURRENCY"]),
        data_dir=state_path.parent,
    )
    pause_after_part = float(env.get("ECG_TEST_PAUSE_AFTER_PART", "0"))

    async def announce(request: httpx.Request) -> None:
        if "partNumber" in request.url.params:
            emit({"sending": int(request.url.params["partNumber"])})

    async def on_part(state: UploadState) -> None:
        save_state(state_path, state)
        emit({"recorded": sorted(state.parts)})
        await asyncio.sleep(pause_after_part)  # gives the test time to kill us mid-upload

    storage = S3Storage(settings, http=httpx.AsyncClient(event_hooks={"request": [announce]}))
    try:
        await storage.upload(
            key, video, "video/mp4", resume=load_state(state_path), on_part=on_part
        )
    finally:
        await storage.close()
    emit({"done": True})


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))
