"""LocalStorage: the ObjectStorage port over the embedded server's signed /storage URLs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from ecg_desktop.app.ports import StorageError
from ecg_desktop.server.storage_routes import add_storage_routes
from ecg_desktop.storage import LocalFileStore, LocalStorage, S3Storage, open_storage

from .conftest import PART, MiB, RequestLog, sha256_of_file, write_random_file
from .test_s3 import Recorder, upload_until_parts_recorded

KEY = "videos/tester/20260101_120000_abcdef12_talk.mp4"


class Served:
    """A local store behind a real aiohttp server, and clients for it."""

    def __init__(self, store: LocalFileStore, base_url: str) -> None:
        self.store = store
        self.base_url = base_url
        self._opened: list[LocalStorage] = []

    def storage(self, log: RequestLog | None = None, part_size: int = PART) -> LocalStorage:
        client = (log or RequestLog()).client()
        storage = LocalStorage(self.store, lambda: self.base_url, part_size=part_size, http=client)
        self._opened.append(storage)
        return storage

    async def close(self) -> None:
        for storage in self._opened:
            await storage.close()


@pytest.fixture
async def served(
    aiohttp_server: Callable[[web.Application], Awaitable[Any]], tmp_path: Path
) -> AsyncIterator[Served]:
    store = LocalFileStore.open(tmp_path / "storage")
    app = web.Application()
    add_storage_routes(app, store)
    server = await aiohttp_server(app)
    result = Served(store, str(server.make_url("")).rstrip("/"))
    yield result
    await result.close()


def ranges_sent(log: RequestLog) -> list[str]:
    return [r.headers.get("Content-Range", "whole") for r in log.puts()]


async def test_a_small_file_is_one_put_and_is_stored_with_its_sha256(
    served: Served, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, MiB + 3)
    log = RequestLog()
    recorder = Recorder()

    await served.storage(log).upload(KEY, video, "video/mp4", **recorder.callbacks())

    assert ranges_sent(log) == ["whole"]
    stored = served.store.stat(KEY)
    assert stored is not None
    assert (stored.size, stored.sha256, stored.content_type) == (MiB + 3, digest, "video/mp4")
    assert recorder.progress[-1][1:] == (MiB + 3, MiB + 3)


async def test_a_large_file_goes_part_by_part_and_reports_each(
    served: Served, tmp_path: Path
) -> None:
    size = 2 * PART + 100
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, size)
    log = RequestLog()
    recorder = Recorder()

    await served.storage(log).upload(KEY, video, "video/mp4", **recorder.callbacks())

    assert ranges_sent(log) == [
        f"bytes 0-{PART - 1}/{size}",
        f"bytes {PART}-{2 * PART - 1}/{size}",
        f"bytes {2 * PART}-{size - 1}/{size}",
    ]
    assert [sorted(s.parts) for s in recorder.states] == [[1], [1, 2], [1, 2, 3]]
    assert len({s.upload_id for s in recorder.states}) == 1
    stored = served.store.stat(KEY)
    assert stored is not None and stored.sha256 == digest
    done = [d for _, d, _ in recorder.progress]
    assert done == sorted(done) and done[-1] == size


async def test_resume_after_a_crash_sends_only_the_missing_parts(
    served: Served, tmp_path: Path
) -> None:
    size = 4 * PART
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, size)
    saved = await upload_until_parts_recorded(served.storage(), video, Recorder(), parts=2)
    assert not served.store.exists(KEY)

    log = RequestLog()
    recorder = Recorder()
    await served.storage(log).upload(KEY, video, "video/mp4", resume=saved,
                                     **recorder.callbacks())

    assert ranges_sent(log)[0] == f"bytes */{size}"  # asks where the upload stands
    sent = ranges_sent(log)[1:]
    assert sent[0] == f"bytes {2 * PART}-{3 * PART - 1}/{size}"  # part 3: 1 and 2 are kept
    assert len(sent) == 2
    assert recorder.restarts == []
    assert recorder.progress[0][1] == 2 * PART
    stored = served.store.stat(KEY)
    assert stored is not None and stored.sha256 == digest


async def test_a_changed_file_starts_over_and_says_why(served: Served, tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 3 * PART)
    saved = await upload_until_parts_recorded(served.storage(), video, Recorder(), parts=1)
    with video.open("r+b") as handle:
        handle.write(b"edited")
    info = video.stat()
    os.utime(video, ns=(info.st_atime_ns, info.st_mtime_ns + 2_000_000_000))

    log = RequestLog()
    recorder = Recorder()
    await served.storage(log).upload(KEY, video, "video/mp4", resume=saved,
                                     **recorder.callbacks())

    assert recorder.restarts == [
        "the file was modified since the upload started, so the upload starts over"
    ]
    assert ranges_sent(log)[0] == f"bytes 0-{PART - 1}/{3 * PART}"
    assert recorder.states[-1].upload_id != saved.upload_id
    stored = served.store.stat(KEY)
    assert stored is not None and stored.sha256 == sha256_of_file(video)


async def test_an_upload_the_store_forgot_starts_over_and_says_why(
    served: Served, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, 2 * PART)
    saved = await upload_until_parts_recorded(served.storage(), video, Recorder(), parts=1)
    served.store.abort(KEY)
    recorder = Recorder()

    await served.storage().upload(KEY, video, "video/mp4", resume=saved, **recorder.callbacks())

    assert recorder.restarts == [
        "the local store no longer has the unfinished upload, so it starts over"
    ]
    stored = served.store.stat(KEY)
    assert stored is not None and stored.sha256 == digest


async def test_recorded_parts_the_store_does_not_hold_are_sent_again(
    served: Served, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, 3 * PART)
    saved = await upload_until_parts_recorded(served.storage(), video, Recorder(), parts=1)
    claims_more = replace(saved, parts={**saved.parts, 2: f"{saved.upload_id}-2"})

    log = RequestLog()
    await served.storage(log).upload(KEY, video, "video/mp4", resume=claims_more)

    assert ranges_sent(log)[1] == f"bytes {PART}-{2 * PART - 1}/{3 * PART}"
    stored = served.store.stat(KEY)
    assert stored is not None and stored.sha256 == digest


async def test_cancel_then_abort_leaves_nothing_behind(served: Served, tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 3 * PART)
    storage = served.storage()
    saved = await upload_until_parts_recorded(storage, video, Recorder(), parts=1)
    assert served.store.partial(KEY) is not None

    await storage.abort(KEY, saved)

    assert served.store.partial(KEY) is None
    assert not await storage.exists(KEY)


async def test_presigned_urls_exists_and_delete(served: Served, tmp_path: Path) -> None:
    storage = served.storage()
    async with httpx.AsyncClient() as http:
        put = await http.put(await storage.presign_put(KEY, "video/mp4", 60), content=b"abc",
                             headers={"Content-Type": "video/mp4"})
        assert put.status_code == 201
        assert await storage.exists(KEY)
        got = await http.get(await storage.presign_get(KEY, 60))
        assert got.content == b"abc"
    await storage.delete(KEY)
    assert not await storage.exists(KEY)


async def test_without_a_server_address_the_upload_fails_clearly(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 100)
    storage = LocalStorage(LocalFileStore.open(tmp_path / "s"), lambda: "")
    try:
        with pytest.raises(StorageError, match="server has not started"):
            await storage.upload(KEY, video, "video/mp4")
        with pytest.raises(StorageError, match="server has not started"):
            await storage.presign_get(KEY, 60)
    finally:
        await storage.close()


async def test_a_refusal_carries_the_stores_reason(served: Served, tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    write_random_file(video, 100)
    served.store.max_object_bytes = 10

    with pytest.raises(StorageError, match=r"HTTP 413: .*limit of 10 bytes"):
        await served.storage().upload(KEY, video, "video/mp4")


async def test_open_storage_picks_the_back_end_from_the_settings(
    settings_factory: Callable[..., Any], tmp_path: Path
) -> None:
    local = open_storage(settings_factory(), lambda: "http://127.0.0.1:8000")
    assert isinstance(local, LocalStorage)
    assert local.filestore.root == settings_factory().storage_dir
    assert local.describe() == f"Local storage {settings_factory().storage_dir}"
    await local.close()

    s3 = open_storage(
        settings_factory(s3_bucket_name="videos", s3_endpoint_url="http://127.0.0.1:9"),
        lambda: "",
    )
    assert isinstance(s3, S3Storage)
    assert s3.describe() == "S3 bucket videos (http://127.0.0.1:9)"
    await s3.close()


async def test_an_upload_completed_just_before_a_crash_is_not_sent_again(
    served: Served, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    digest = write_random_file(video, 2 * PART + 5)
    recorder = Recorder()
    await served.storage().upload(KEY, video, "video/mp4", **recorder.callbacks())

    log = RequestLog()
    again = Recorder()
    await served.storage(log).upload(
        KEY, video, "video/mp4", resume=recorder.states[-1], **again.callbacks()
    )

    assert log.requests == []
    assert again.restarts == []
    stored = served.store.stat(KEY)
    assert stored is not None and stored.sha256 == digest
