"""S3Storage against the real S3-compatible server (Swift + s3api)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecg_desktop.app.ports import ObjectStorage, StorageError
from ecg_desktop.config import Settings
from ecg_desktop.domain import UploadState
from ecg_desktop.storage import S3Storage

from .conftest import (
    PART,
    MiB,
    RequestLog,
    sha256_of_file,
    sha256_of_object,
    write_random_file,
)

KEY = "videos/tester/20260101_120000_abcdef12_talk.mp4"


def unfinished_uploads(admin: Any, bucket: str) -> list[dict[str, Any]]:
    return list(admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


class Recorder:
    """Collects what the adapter reports: progress, persisted states, restart reasons."""

    def __init__(self) -> None:
        self.progress: list[tuple[float, int, int]] = []
        self.states: list[UploadState] = []
        self.restarts: list[str] = []
        self.part_recorded = asyncio.Event()

    def on_progress(self, done: int, total: int) -> None:
        self.progress.append((time.monotonic(), done, total))

    async def on_part(self, state: UploadState) -> None:
        self.states.append(state)
        if state.parts:
            self.part_recorded.set()

    def on_restart(self, reason: str) -> None:
        self.restarts.append(reason)

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_progress": self.on_progress,
            "on_part": self.on_part,
            "on_restart": self.on_restart,
        }


async def upload_until_parts_recorded(
    storage: ObjectStorage, path: Path, recorder: Recorder, parts: int
) -> UploadState:
    """Start an upload, let ``parts`` parts be recorded, then cancel it (a simulated crash)."""
    task = asyncio.create_task(storage.upload(KEY, path, "video/mp4", **recorder.callbacks()))
    while not (recorder.states and len(recorder.states[-1].parts) >= parts):
        await asyncio.wait_for(recorder.part_recorded.wait(), 30)
        recorder.part_recorded.clear()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return recorder.states[-1]


async def test_a_small_file_is_one_presigned_put(
    s3_storage: S3Storage, request_log: RequestLog, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "small.mp4"
    digest = write_random_file(video, 2 * MiB + 17)
    recorder = Recorder()

    await s3_storage.upload(KEY, video, "video/mp4", **recorder.callbacks())

    assert [r.method for r in request_log.requests] == ["PUT"]
    assert "partNumber" not in request_log.requests[0].url.params
    head = s3_admin.head_object(Bucket=s3_bucket, Key=KEY)
    assert head["ContentLength"] == 2 * MiB + 17
    assert head["ContentType"] == "video/mp4"
    assert sha256_of_object(s3_admin, s3_bucket, KEY) == digest
    assert recorder.states == []  # a single PUT has nothing to resume
    assert recorder.progress[-1][1:] == (2 * MiB + 17, 2 * MiB + 17)
    assert await s3_storage.exists(KEY)


async def test_a_large_file_goes_in_parts_several_at_once_and_arrives_intact(
    s3_storage: S3Storage, request_log: RequestLog, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    size = 3 * PART + 12345
    video = tmp_path / "large.mp4"
    digest = write_random_file(video, size)
    recorder = Recorder()

    await s3_storage.upload(KEY, video, "video/mp4", **recorder.callbacks())

    assert sorted(request_log.part_numbers()) == [1, 2, 3, 4]
    assert request_log.max_in_flight == 3  # upload_concurrency
    assert sha256_of_object(s3_admin, s3_bucket, KEY) == digest
    assert s3_admin.head_object(Bucket=s3_bucket, Key=KEY)["ContentType"] == "video/mp4"
    # The upload id is persisted before any byte is sent, then each part as it finishes.
    assert recorder.states[0].upload_id and recorder.states[0].parts == {}
    assert [len(s.parts) for s in recorder.states] == [0, 1, 2, 3, 4]
    final = recorder.states[-1]
    assert (final.file_size, final.part_size) == (size, PART)
    assert final.file_mtime_ns == video.stat().st_mtime_ns
    assert unfinished_uploads(s3_admin, s3_bucket) == []


async def test_progress_rises_to_the_total_and_keeps_coming_while_stalled(
    s3_storage: S3Storage, request_log: RequestLog, tmp_path: Path
) -> None:
    size = 4 * PART
    video = tmp_path / "v.mp4"
    write_random_file(video, size)
    # Every request waits 1 s before it goes out: parts 1-3, then part 4, so for two long
    # stretches no byte moves, the second one with three parts done.
    request_log.delay_before_sending_s = 1.0
    recorder = Recorder()

    await s3_storage.upload(KEY, video, "video/mp4", **recorder.callbacks())

    done = [d for _, d, _ in recorder.progress]
    assert all(total == size for _, _, total in recorder.progress)
    assert done == sorted(done)
    assert done[0] == 0 and done[-1] == size
    assert 3 * PART in done  # the bytes of the parts finished so far, while part 4 waits
    times = [t for t, _, _ in recorder.progress]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Promised: a report at least every 250 ms, stalled or not. The bound leaves room for a
    # busy machine but not for reports that only come when bytes move (1 s gaps here).
    assert max(gaps) < 0.6, gaps


async def test_cancel_then_abort_leaves_no_unfinished_upload(
    s3_storage: S3Storage, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 6 * PART)
    s3_storage.concurrency = 1
    recorder = Recorder()

    state = await upload_until_parts_recorded(s3_storage, video, recorder, parts=1)
    assert len(unfinished_uploads(s3_admin, s3_bucket)) == 1
    await s3_storage.abort(KEY, state)

    assert unfinished_uploads(s3_admin, s3_bucket) == []
    assert not await s3_storage.exists(KEY)


async def test_abort_without_a_recorded_state_still_finds_the_upload(
    s3_storage: S3Storage, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 3 * PART)
    started = asyncio.Event()

    async def on_part(state: UploadState) -> None:
        started.set()

    task = asyncio.create_task(s3_storage.upload(KEY, video, "video/mp4", on_part=on_part))
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await s3_storage.abort(KEY, None)
    assert unfinished_uploads(s3_admin, s3_bucket) == []


async def test_resume_after_a_crash_sends_only_the_missing_parts(
    s3_settings: Settings, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, 5 * PART + 99)
    first_log, second_log = RequestLog(), RequestLog()
    first = S3Storage(s3_settings.with_changes(upload_concurrency=1), http=first_log.client())
    saved = await upload_until_parts_recorded(first, video, Recorder(), parts=2)
    await first.close()
    assert set(saved.parts) == {1, 2}

    second = S3Storage(s3_settings, http=second_log.client())
    recorder = Recorder()
    try:
        await second.upload(KEY, video, "video/mp4", resume=saved, **recorder.callbacks())
    finally:
        await second.close()

    assert sorted(second_log.part_numbers()) == [3, 4, 5, 6]
    assert recorder.restarts == []
    assert recorder.states[-1].upload_id == saved.upload_id
    assert set(recorder.states[-1].parts) == {1, 2, 3, 4, 5, 6}
    assert recorder.progress[0][1] == 2 * PART  # starts from what was already there
    assert sha256_of_object(s3_admin, s3_bucket, KEY) == digest


async def test_a_part_sent_but_never_recorded_is_recognised_by_its_md5(
    s3_settings: Settings, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, 4 * PART)
    first = S3Storage(s3_settings.with_changes(upload_concurrency=1), http=RequestLog().client())
    saved = await upload_until_parts_recorded(first, video, Recorder(), parts=2)
    await first.close()
    forgotten = UploadState(
        saved.upload_id, saved.part_size, saved.file_size, saved.file_mtime_ns, {1: saved.parts[1]}
    )  # the app died after part 2 reached the server, before it was written down

    log = RequestLog()
    second = S3Storage(s3_settings, http=log.client())
    try:
        await second.upload(KEY, video, "video/mp4", resume=forgotten)
    finally:
        await second.close()

    assert 2 not in log.part_numbers()
    assert sha256_of_object(s3_admin, s3_bucket, KEY) == digest


async def test_a_recorded_part_the_server_does_not_hold_is_sent_again(
    s3_settings: Settings, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, 3 * PART)
    first = S3Storage(s3_settings.with_changes(upload_concurrency=1), http=RequestLog().client())
    saved = await upload_until_parts_recorded(first, video, Recorder(), parts=1)
    await first.close()
    lying = saved.with_part(2, '"0123456789abcdef0123456789abcdef"')

    log = RequestLog()
    second = S3Storage(s3_settings, http=log.client())
    try:
        await second.upload(KEY, video, "video/mp4", resume=lying)
    finally:
        await second.close()

    assert 2 in log.part_numbers() and 1 not in log.part_numbers()
    assert sha256_of_object(s3_admin, s3_bucket, KEY) == digest


@pytest.mark.parametrize("change", ["size", "mtime"])
async def test_a_changed_file_starts_over_and_says_why(
    change: str,
    s3_settings: Settings,
    s3_admin: Any,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 3 * PART)
    first = S3Storage(s3_settings.with_changes(upload_concurrency=1), http=RequestLog().client())
    saved = await upload_until_parts_recorded(first, video, Recorder(), parts=1)
    await first.close()
    if change == "size":
        with video.open("ab") as handle:
            handle.write(os.urandom(1000))
    else:
        info = video.stat()
        os.utime(video, ns=(info.st_atime_ns, info.st_mtime_ns + 5_000_000_000))
    digest = sha256_of_file(video)

    log = RequestLog()
    recorder = Recorder()
    second = S3Storage(s3_settings, http=log.client())
    try:
        await second.upload(KEY, video, "video/mp4", resume=saved, **recorder.callbacks())
    finally:
        await second.close()

    assert len(recorder.restarts) == 1
    reason = recorder.restarts[0]
    assert "starts over" in reason
    assert ("size" in reason) if change == "size" else ("modified" in reason)
    expected_parts = [1, 2, 3, 4] if change == "size" else [1, 2, 3]  # 1000 bytes more: 4
    assert sorted(log.part_numbers()) == expected_parts
    assert recorder.states[0].upload_id != saved.upload_id
    assert unfinished_uploads(s3_admin, s3_bucket) == []  # the old upload was aborted
    assert sha256_of_object(s3_admin, s3_bucket, KEY) == digest


async def test_an_upload_the_server_forgot_starts_over_and_says_why(
    s3_settings: Settings, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, 2 * PART + 1)
    first = S3Storage(s3_settings.with_changes(upload_concurrency=1), http=RequestLog().client())
    saved = await upload_until_parts_recorded(first, video, Recorder(), parts=1)
    await first.close()
    s3_admin.abort_multipart_upload(Bucket=s3_bucket, Key=KEY, UploadId=saved.upload_id)

    recorder = Recorder()
    second = S3Storage(s3_settings, http=RequestLog().client())
    try:
        await second.upload(KEY, video, "video/mp4", resume=saved, **recorder.callbacks())
    finally:
        await second.close()

    assert recorder.restarts == [
        "the storage server no longer has the unfinished upload, so it starts over"
    ]
    assert sha256_of_object(s3_admin, s3_bucket, KEY) == digest


@pytest.mark.parametrize("size", [MiB, 2 * PART])
async def test_wrong_credentials_fail_with_the_servers_reason(
    size: int, s3_settings: Settings, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, size)
    storage = S3Storage(s3_settings.with_changes(aws_secret_access_key="not-the-secret"))
    try:
        with pytest.raises(StorageError, match="SignatureDoesNotMatch") as caught:
            await storage.upload(KEY, video, "video/mp4")
    finally:
        await storage.close()
    assert "not-the-secret" not in str(caught.value)
    assert "Contents" not in s3_admin.list_objects_v2(Bucket=s3_bucket)


@pytest.mark.parametrize("size", [MiB, 2 * PART])
async def test_a_missing_bucket_fails_with_the_servers_reason(
    size: int, s3_settings: Settings, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, size)
    storage = S3Storage(s3_settings.with_changes(s3_bucket_name="no-such-bucket-here"))
    try:
        with pytest.raises(StorageError, match="NoSuchBucket"):
            await storage.upload(KEY, video, "video/mp4")
    finally:
        await storage.close()


async def test_exists_on_a_missing_bucket_says_so(s3_settings: Settings) -> None:
    storage = S3Storage(s3_settings.with_changes(s3_bucket_name="no-such-bucket-here"))
    try:
        with pytest.raises(StorageError, match="NoSuchBucket"):
            await storage.exists(KEY)
    finally:
        await storage.close()


async def test_an_expired_upload_url_fails_with_the_servers_reason(
    s3_storage: S3Storage, request_log: RequestLog, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, MiB)
    s3_storage.url_expiry_s = 1
    request_log.delay_before_sending_s = 2.5  # the signed URL expires before it is used

    with pytest.raises(StorageError, match=r"AccessDenied.*expired"):
        await s3_storage.upload(KEY, video, "video/mp4")
    assert len(request_log.puts()) == 1  # a 403 is final: not retried


async def test_presigned_get_and_put_urls_work_and_expire(
    s3_storage: S3Storage, tmp_path: Path
) -> None:
    put_url = await s3_storage.presign_put(KEY, "video/mp4", 60)
    async with httpx.AsyncClient() as client:
        stored = await client.put(put_url, content=b"abc", headers={"Content-Type": "video/mp4"})
        assert stored.status_code == 200
        got = await client.get(await s3_storage.presign_get(KEY, 60))
        assert got.content == b"abc"
        short = await s3_storage.presign_get(KEY, 1)
        await asyncio.sleep(2.2)
        expired = await client.get(short)
    assert expired.status_code == 403
    assert "expired" in expired.text


async def test_exists_and_delete(s3_storage: S3Storage, tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 1000)
    assert not await s3_storage.exists(KEY)
    await s3_storage.upload(KEY, video, "video/mp4")
    assert await s3_storage.exists(KEY)
    await s3_storage.delete(KEY)
    assert not await s3_storage.exists(KEY)


async def test_delete_also_aborts_an_upload_a_crash_left_behind(
    s3_storage: S3Storage, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 3 * PART)
    s3_storage.concurrency = 1
    await upload_until_parts_recorded(s3_storage, video, Recorder(), parts=1)
    assert len(unfinished_uploads(s3_admin, s3_bucket)) == 1

    await s3_storage.delete(KEY)

    assert unfinished_uploads(s3_admin, s3_bucket) == []


async def test_a_missing_file_is_refused_before_anything_is_sent(
    s3_storage: S3Storage, request_log: RequestLog, tmp_path: Path
) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        await s3_storage.upload(KEY, tmp_path / "nope.mp4", "video/mp4")
    assert request_log.requests == []


async def test_describe_and_repr_name_the_bucket_and_hide_the_secret(
    s3_storage: S3Storage, s3_settings: Settings
) -> None:
    assert s3_storage.describe() == (
        f"S3 bucket {s3_settings.s3_bucket_name} ({s3_settings.s3_endpoint_url})"
    )
    assert s3_settings.aws_secret_access_key not in repr(s3_storage)
    aws = S3Storage(s3_settings.with_changes(s3_endpoint_url="", aws_region="eu-west-3"))
    assert aws.describe() == f"S3 bucket {s3_settings.s3_bucket_name} (eu-west-3)"
    await aws.close()


async def test_a_part_that_hits_a_connection_error_is_sent_again(
    s3_storage: S3Storage, request_log: RequestLog, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, 3 * PART)
    failed: list[int] = []

    def drop_part_2_once(request: httpx.Request) -> None:
        if request.url.params.get("partNumber") == "2" and not failed:
            failed.append(2)
            raise httpx.ConnectError("connection reset by the test", request=request)

    request_log.before_sending = drop_part_2_once
    await s3_storage.upload(KEY, video, "video/mp4")

    assert sorted(request_log.part_numbers()) == [1, 2, 2, 3]
    assert sha256_of_object(s3_admin, s3_bucket, KEY) == digest


async def test_an_unreachable_endpoint_is_a_storage_error(
    s3_settings: Settings, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 2 * PART)
    closed_port = free_port()
    storage = S3Storage(s3_settings.with_changes(s3_endpoint_url=f"http://127.0.0.1:{closed_port}"))
    try:
        with pytest.raises(StorageError, match="Could not connect to the endpoint"):
            await storage.upload(KEY, video, "video/mp4")
    finally:
        await storage.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_boto3_never_runs_on_the_event_loop_thread(
    s3_storage: S3Storage, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 2 * PART + 1)
    loop_thread = threading.get_ident()
    seen: list[tuple[str, int]] = []

    def note(event_name: str, **_: Any) -> None:
        seen.append((event_name, threading.get_ident()))

    client = await s3_storage._client()
    client.meta.events.register("before-parameter-build.s3", note)  # calls and presigning

    await s3_storage.upload(KEY, video, "video/mp4")
    assert await s3_storage.exists(KEY)
    await s3_storage.presign_get(KEY, 60)

    operations = {name.rsplit(".", 1)[-1] for name, _ in seen}
    assert {"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
            "HeadObject", "GetObject"} <= operations
    assert all(thread != loop_thread for _, thread in seen)


async def test_an_upload_completed_just_before_a_crash_is_not_sent_again(
    s3_settings: Settings, s3_admin: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, 2 * PART + 5)
    recorder = Recorder()
    first = S3Storage(s3_settings, http=RequestLog().client())
    try:
        await first.upload(KEY, video, "video/mp4", **recorder.callbacks())
    finally:
        await first.close()
    last_recorded = recorder.states[-1]  # the app died before it marked the job uploaded

    log = RequestLog()
    again = Recorder()
    second = S3Storage(s3_settings, http=log.client())
    try:
        await second.upload(KEY, video, "video/mp4", resume=last_recorded, **again.callbacks())
    finally:
        await second.close()

    assert log.requests == []
    assert again.restarts == []
    assert again.progress[-1][1:] == (2 * PART + 5, 2 * PART + 5)
    assert sha256_of_object(s3_admin, s3_bucket, KEY) == digest


@pytest.mark.parametrize("size", [MiB, 2 * PART])
async def test_a_missing_secret_key_is_a_clear_error(
    size: int, s3_settings: Settings, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, size)
    storage = S3Storage(s3_settings.with_changes(aws_secret_access_key=""))
    try:
        with pytest.raises(StorageError, match="AWS_ACCESS_KEY_ID is set but AWS_SECRET"):
            await storage.upload(KEY, video, "video/mp4")
    finally:
        await storage.close()


async def test_temporary_credentials_carry_their_session_token(
    s3_settings: Settings, request_log: RequestLog, tmp_path: Path
) -> None:
    """With ``AWS_SESSION_TOKEN`` (STS or SSO credentials) every request the adapter signs
    carries the token: AWS refuses temporary keys without it."""
    settings = s3_settings.with_changes(aws_session_token="the-session-token")
    storage = S3Storage(settings, http=request_log.client())
    video = tmp_path / "v.mp4"
    write_random_file(video, 1000)
    try:
        get_url = httpx.URL(await storage.presign_get(KEY, 60))
        with contextlib.suppress(StorageError):  # the test server knows no such session
            await storage.upload(KEY, video, "video/mp4")
    finally:
        await storage.close()

    assert get_url.params["X-Amz-Security-Token"] == "the-session-token"
    [put] = request_log.puts()
    assert put.url.params["X-Amz-Security-Token"] == "the-session-token"
    assert "the-session-token" not in repr(settings)
